"""A private `chroma run` server a test can stop and restart (the session one in conftest must stay up)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from support.paths import free_port


def chroma_cli() -> str | None:
    from_venv = Path(sys.executable).with_name("chroma")
    return str(from_venv) if from_venv.exists() else shutil.which("chroma")


class ChromaServer:
    """`chroma run --path DATA` on 127.0.0.1 at a fixed port across restarts."""

    def __init__(self, data: Path) -> None:
        self.data = Path(data)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, deadline_s: float = 60.0) -> ChromaServer:
        exe = chroma_cli()
        assert exe is not None
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.data / "server.log", "ab")
        self.proc = subprocess.Popen(
            [exe, "run", "--path", str(self.data / "db"), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ | {"ANONYMIZED_TELEMETRY": "False"},
        )
        end = time.monotonic() + deadline_s
        while True:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"chroma run did not start: {(self.data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)
            self.proc = None

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
