"""Shared fixtures. Autouse: each test gets its own user dir and index folder, no proxies, and an OLLAMA_HOST that
points at a closed port, so nothing ever talks to a real Ollama the developer may have running."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from support.paths import SHARED_EVAL, free_port

_RUN_CACHE = os.path.join(tempfile.gettempdir(), f"rag-test-cache-{os.getpid()}")


def pytest_configure(config: pytest.Config) -> None:
    """Let the Ctrl-C tests' children see SIGINT however the suite was launched.

    A shell starts background jobs (`pytest &`) with SIGINT ignored, and an ignored signal stays ignored across exec,
    so a spawned `rag` would never see the test's interrupt. A handled signal resets to its default at exec: handling
    it here gives every child the default action.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # One cache for the whole run, children included: the built-in embedder's int8 model is made once (a few
    # seconds), never in the user's own cache folder.
    os.environ["RAG_CACHE"] = _RUN_CACHE


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_RUN_CACHE, ignore_errors=True)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("rag_home")
    monkeypatch.setenv("RAG_HOME", str(home))
    for var in (
        "RAG_INDEX",
        "RAG_CHROMA_URL",
        "RAG_EMBED_MODEL",
        "RAG_CHAT_MODEL",
        "RAG_COLLECTION",
        "RAG_RAISE_ERRORS",
    ):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    return home


@pytest.fixture
def shared_eval() -> Path:
    """../shared/eval, or skip the test when it is absent."""
    if not SHARED_EVAL.is_dir():
        pytest.skip("../shared/eval is not present")
    return SHARED_EVAL


@pytest.fixture
def ollama(monkeypatch: pytest.MonkeyPatch):
    """A started fake Ollama (tests/support/ollama_server.py) on a free port, with OLLAMA_HOST pointing at it."""
    from support.ollama_server import FakeOllama

    with FakeOllama() as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        yield server


def _chroma_cli() -> str | None:
    from_venv = Path(sys.executable).with_name("chroma")
    return str(from_venv) if from_venv.exists() else shutil.which("chroma")


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server on 127.0.0.1 for the whole test session (skips when the CLI is missing)."""
    exe = _chroma_cli()
    if exe is None:
        pytest.skip("the `chroma` CLI is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | {"ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not start: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
