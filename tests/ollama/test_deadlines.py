"""Hangs: every Ollama call ends by its wall-clock deadline, whatever the server does, and replies are capped.

The fake server trickles one byte every 0.2 s, so a reply of a few hundred bytes would take a minute; a deadline of
1 s must end each call with OllamaTimeout (no timing is asserted: the error itself proves the deadline fired).
"""

from __future__ import annotations

import pytest

from rag.errors import OllamaError, OllamaTimeout
from rag.ollama import Client
from support.ollama_server import FakeOllama

USER = [{"role": "user", "content": "Context: cats sleep in warm places most of the day.\nQuestion: what do cats do?"}]
SLOW = 0.2  # seconds between bytes


@pytest.fixture
def client(ollama: FakeOllama):
    with Client(ollama.url, timeout=1.0, short_timeout=0.5, backoff=0) as c:
        assert c.version()  # one kept-alive connection first, so the trickle also hits a reused connection
        yield c


CALLS = {
    "chat": ("/api/chat", lambda c: c.chat("llama3.2", USER)),
    "chat-stream": ("/api/chat", lambda c: list(c.chat("llama3.2", USER, stream=True))),
    "embed": ("/api/embed", lambda c: c.embed("all-minilm", ["a text to embed"])),
    "tags": ("/api/tags", lambda c: c.tags()),
    "show": ("/api/show", lambda c: c.show("all-minilm")),
}


@pytest.mark.parametrize("head", [False, True], ids=["body", "head+body"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_trickled_reply_ends_at_the_deadline(client: Client, ollama: FakeOllama, name: str, head: bool) -> None:
    path, call = CALLS[name]
    ollama.trickle, ollama.trickle_head = {path: SLOW}, head
    with pytest.raises(OllamaTimeout) as info:
        call(client)
    assert "--timeout" in str(info.value)  # the message names the fix
    assert ollama.count(path) == 1  # a passed deadline is never retried
    ollama.reset()
    assert client.tags()  # the client still works afterwards


def test_a_stream_that_never_finishes_ends_at_the_deadline(client: Client, ollama: FakeOllama) -> None:
    ollama.endless_stream = True
    pieces = []
    with pytest.raises(OllamaTimeout):
        for piece in client.chat("llama3.2", USER, stream=True):
            pieces.append(piece)
    assert pieces and not any(p.done for p in pieces)


def test_the_deadline_bounds_the_probe_too(ollama: FakeOllama) -> None:
    ollama.trickle, ollama.trickle_head = {"/api/version": SLOW}, True
    with Client(ollama.url) as c:
        assert c.probe_version(timeout=0.5) is None and not c.is_reachable(timeout=0.5)


@pytest.mark.parametrize("stream", [False, True], ids=["reply", "stream"])
def test_an_oversized_reply_is_an_error_not_printed(ollama: FakeOllama, stream: bool) -> None:
    ollama.oversize_bytes = 10_000_000
    with Client(ollama.url, max_reply_bytes=2_000_000) as c, pytest.raises(OllamaError, match="more than") as info:
        reply = c.chat("llama3.2", USER, stream=stream)
        if stream:
            list(reply)  # type: ignore[arg-type]
    assert not isinstance(info.value, OllamaTimeout)
    assert len(str(info.value)) < 500  # the message, not the reply


def test_a_reply_under_the_cap_passes(ollama: FakeOllama) -> None:
    ollama.oversize_bytes = 100_000
    with Client(ollama.url, max_reply_bytes=2_000_000) as c:
        reply = c.chat("llama3.2", USER)
    assert len(reply.message.content) == 100_000  # type: ignore[union-attr]


def test_answer_calls_send_num_predict(tmp_path, ollama: FakeOllama) -> None:
    from rag import RAG
    from support.hits import index_docs

    index = index_docs(tmp_path)
    with RAG(index, max_answer_tokens=321) as rag:
        rag.ask("What does the embed endpoint return?")
    assert ollama.bodies("/api/chat")[-1]["options"]["num_predict"] == 321


def test_deadline_and_caps_are_validated() -> None:
    for bad in ({"timeout": 0}, {"short_timeout": -1}, {"max_reply_bytes": 0}):
        with pytest.raises(ValueError):
            Client("127.0.0.1:9", **bad)  # type: ignore[arg-type]
