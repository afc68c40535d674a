"""`rag serve` as a command: a real process on a free port answering the three faces, stopped with SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.paths import free_port

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 120


def test_rag_serve_process_serves_and_stops(rag, tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [
        sys.executable,
        "-m",
        "rag",
        "serve",
        "--index",
        str(rag.settings.index_dir),
        "--port",
        str(port),
        "--chat-model",
        "none",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                if httpx.get(f"{url}/api/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
            time.sleep(0.1)
        answer = httpx.post(f"{url}/v1/ask", json={"question": "How are models downloaded?"}, timeout=60).json()
        assert answer["mode"] == "extractive" and answer["citations"]
        tags = httpx.get(f"{url}/api/tags", timeout=60).json()
        assert [m["name"] for m in tags["models"]] == ["rag:default"]
        assert "<title>ollama-rag</title>" in httpx.get(url, timeout=60).text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "rag serve: http://127.0.0.1:" in err and "Traceback" not in err
