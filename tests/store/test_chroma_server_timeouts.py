"""Every wait on a Chroma server has a deadline: a server that accepts the connection and never answers gives a
`StoreError` naming its URL within $RAG_CHROMA_TIMEOUT, for the first connection, the registry read and the mirror
reads, and a reader with a local copy answers from it (keyword-only) instead of hanging."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rag.errors import StoreError
from rag.store import clients
from rag.store.chroma_errors import StoreUnreachable
from rag.store.server_catalog import ServerCatalog
from support.corpus import make_docs, open_rag

pytestmark = pytest.mark.chroma_server

TEST_DEADLINE_S = 120.0
"""The test's own bound on each call that must give up by itself (RAG_CHROMA_TIMEOUT is far below it)."""


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.accepted = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def _bounded(call: Callable[[], Any]) -> BaseException | None:
    """Run `call` in a thread; the exception it ended with (None: it returned). Fails the test when the call is
    still waiting at the test's own deadline."""
    box: dict[str, BaseException | None] = {"error": None}
    done = threading.Event()

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # the exception is the result under test
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(TEST_DEADLINE_S), f"still waiting after {TEST_DEADLINE_S} s: the call has no deadline"
    return box["error"]


def test_a_server_that_never_answers_is_unreachable_naming_the_url(
    silent: SilentServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chromadb  # noqa: F401  (imported first: on a busy machine the import alone can outlast the test's bound)

    monkeypatch.setenv(clients.ENV_TIMEOUT, "0.5")
    error = _bounded(lambda: clients.acquire(tmp_path, silent.url))
    assert silent.accepted.is_set()  # it really connected and then waited
    assert isinstance(error, StoreUnreachable), error
    assert silent.url in str(error) and clients.ENV_TIMEOUT in str(error) and "chroma run" in str(error)


def test_a_bad_timeout_setting_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clients.ENV_TIMEOUT, "soon")
    with pytest.raises(StoreError, match=clients.ENV_TIMEOUT):
        clients.timeout_s()
    monkeypatch.setenv(clients.ENV_TIMEOUT, "")
    assert clients.timeout_s() == clients.DEFAULT_TIMEOUT_S


def test_registry_and_mirror_reads_of_a_frozen_server_give_up_and_the_copy_answers(
    ollama, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.chroma_server import ChromaServer, chroma_cli

    if chroma_cli() is None:
        pytest.skip("the `chroma` CLI is not installed")
    docs = make_docs(tmp_path / "notes", n=3)
    server = ChromaServer(tmp_path / "chroma").start(deadline_s=TEST_DEADLINE_S * 3)  # a busy machine starts slowly
    frozen = False
    try:
        with open_rag(tmp_path / "w", chroma_url=server.url, collection="frozen") as writer:
            assert writer.index(docs).error is None
        reader = ServerCatalog(tmp_path / "r", server.url, "frozen", tmp_path / "r" / "frozen.mirror.sqlite")
        with reader:
            generation = reader.generation()
            chunks = reader.counts()[1]
            assert chunks > 0
            monkeypatch.setenv(clients.ENV_TIMEOUT, "0.5")
            from rag.store.clients import _bound

            store = reader.store()
            _bound(store._client, clients.timeout_s())  # the client was made before the setting changed
            assert server.proc is not None
            os.kill(server.proc.pid, signal.SIGSTOP)  # accepts connections (the kernel does), answers nothing
            frozen = True
            assert store.registry is not None
            registry = store.registry
            error = _bounded(registry.state)
            assert isinstance(error, StoreUnreachable) and server.url in str(error), error
            error = _bounded(lambda: list(store.iter_rows()))
            assert isinstance(error, StoreUnreachable) and server.url in str(error), error
            error = _bounded(lambda: store.get_rows(sorted(reader.chunk_ids())[:3]))
            assert isinstance(error, StoreUnreachable) and server.url in str(error), error
            assert _bounded(reader.refresh) is None  # the copy answers instead
            assert reader.offline and server.url in reader.offline and "keyword" in reader.offline
            assert reader.generation() == generation and reader.counts()[1] == chunks
    finally:
        if frozen and server.proc is not None:
            os.kill(server.proc.pid, signal.SIGCONT)
        server.stop()
