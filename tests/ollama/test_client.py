"""rag.ollama.Client over real sockets against tests/ollama_server.py: endpoints, streaming, errors, retries."""

from __future__ import annotations

import doctest
import json
import math

import pytest

import rag
import rag.ollama.client
from rag.errors import (
    ContextLengthExceeded,
    ModelNotFound,
    OllamaBusy,
    OllamaError,
    OllamaTimeout,
    OllamaUnreachable,
)
from rag.ollama import ChatResponse, Client, GenerateResponse, Message, parse_host
from support.ollama_server import CONTEXT_ERROR, VERSION, FakeOllama
from support.paths import free_port

SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "citations": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "string", "enum": ["c0ffee01", "c0ffee02"]}, "quote": {"type": "string"}},
                "required": ["id", "quote"],
            },
        },
    },
    "required": ["answer", "citations"],
}
PROMPT = (
    "Context:\n[c0ffee02] source: cats.md\nCats sleep for most of the day in warm places.\n"
    "[c0ffee01] source: api.md\nThe embed endpoint returns one vector for each input text.\n"
    "Question: what does the embed endpoint return?"
)
USER = [{"role": "user", "content": PROMPT}]


@pytest.fixture
def client(ollama: FakeOllama):
    with Client(backoff=0) as c:  # finds the fake through OLLAMA_HOST
        yield c


# ---- host parsing -------------------------------------------------------------------------------------------------


def test_parse_host_doctests_pass() -> None:
    result = doctest.testmod(rag.ollama.client)
    assert result.attempted >= 10
    assert result.failed == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "http://127.0.0.1:11434"),
        ("https://ollama.example.com:8443/", "https://ollama.example.com:8443"),
        ("10.0.0.5", "http://10.0.0.5:11434"),
        ("[::]:11434", "http://[::1]:11434"),
    ],
)
def test_parse_host_forms(value: str, expected: str) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize("value", ["host:notaport", "127.0.0.1:70000", "http://h:11434/api", "not a host", "ftp://h"])
def test_parse_host_refuses_what_is_no_address(value: str) -> None:
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="Invalid Ollama address"):
        parse_host(value)


def test_explicit_host_wins_over_env(ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", elsewhere)
    with Client(ollama.url) as c:
        assert c.host == ollama.url
        assert c.is_reachable()
    with Client() as c:
        assert c.host == f"http://{elsewhere}"
        assert not c.is_reachable()


def test_client_sends_identifying_headers(client: Client, ollama: FakeOllama) -> None:
    client.version()
    headers = {k.lower(): v for k, v in ollama.requests[-1].headers.items()}
    assert headers["user-agent"] == f"ollama-rag/{rag.__version__}"
    assert headers["accept"] == "application/json"


def test_bad_arguments_are_programmer_errors(client: Client) -> None:
    with pytest.raises(TypeError):
        client.embed("all-minilm", "not a list")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Client(retries=-1)


# ---- embed --------------------------------------------------------------------------------------------------------


def test_embed_returns_unit_vectors_and_sends_a_clean_body(client: Client, ollama: FakeOllama) -> None:
    result = client.embed("all-minilm", ["first text", "第二段文字"])
    assert len(result.embeddings) == 2
    assert all(len(v) == 384 for v in result.embeddings)
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in result.embeddings)
    assert result.model == "all-minilm"
    assert result.prompt_tokens and result.prompt_tokens > 0
    assert result.model_ms == 2.0 and result.load_ms == 0.001  # the fake's 2_000_000 ns and 1_000 ns
    assert ollama.bodies("/api/embed") == [{"model": "all-minilm", "input": ["first text", "第二段文字"]}]


def test_embed_passes_truncate_false_options_and_dimensions(client: Client, ollama: FakeOllama) -> None:
    result = client.embed(
        "nomic-embed-text", ["x y z"], truncate=False, options={"num_ctx": 512}, keep_alive="1m", dimensions=64
    )
    assert len(result.embeddings[0]) == 64
    assert ollama.bodies("/api/embed")[-1] == {
        "model": "nomic-embed-text",
        "input": ["x y z"],
        "truncate": False,
        "options": {"num_ctx": 512},
        "keep_alive": "1m",
        "dimensions": 64,
    }


def test_embed_empty_list_sends_nothing(client: Client, ollama: FakeOllama) -> None:
    assert client.embed("all-minilm", []).embeddings == []
    assert ollama.count("/api/embed") == 0


def test_embed_over_context_raises_only_without_truncation(client: Client, ollama: FakeOllama) -> None:
    ollama.embed_context_length = 10
    long_text = " ".join(f"word{i}" for i in range(40))
    assert len(client.embed("all-minilm", [long_text]).embeddings) == 1  # truncated silently by default
    with pytest.raises(ContextLengthExceeded) as info:
        client.embed("all-minilm", ["short", long_text], truncate=False)
    assert info.value.status_code == 400
    assert info.value.error == CONTEXT_ERROR
    assert ollama.count("/api/embed") == 2  # a 400 is never retried


def test_embed_missing_model_raises_model_not_found_without_fallback(client: Client, ollama: FakeOllama) -> None:
    ollama.missing_models = {"all-minilm:latest"}
    with pytest.raises(ModelNotFound) as info:
        client.embed("all-minilm", ["hello"])
    assert info.value.model == "all-minilm"
    assert info.value.status_code == 404
    assert "ollama pull all-minilm" in str(info.value)
    assert "not found" in info.value.error
    assert ollama.count("/api/embeddings") == 0


def test_embed_falls_back_to_legacy_endpoint_and_remembers(client: Client, ollama: FakeOllama) -> None:
    with FakeOllama() as modern:
        expected = Client(modern.url).embed("all-minilm", ["alpha beta", "gamma"]).embeddings
    ollama.legacy_only = True
    assert client.embed("all-minilm", ["alpha beta", "gamma"]).embeddings == expected
    assert client.embed("all-minilm", ["delta"]).embeddings[0]
    assert ollama.count("/api/embed") == 1  # tried once, then remembered
    sent = [{"model": "all-minilm", "prompt": t} for t in ("alpha beta", "gamma", "delta")]
    assert ollama.bodies("/api/embeddings") == sent


def test_legacy_endpoint_model_404_is_model_not_found(client: Client, ollama: FakeOllama) -> None:
    ollama.legacy_only = True
    ollama.missing_models = {"nomic-embed-text"}
    with pytest.raises(ModelNotFound):
        client.embed("nomic-embed-text", ["hello"])
    assert ollama.count("/api/embeddings") == 1


# ---- chat and generate --------------------------------------------------------------------------------------------


def test_chat_with_schema_returns_valid_json_and_stats(client: Client, ollama: FakeOllama) -> None:
    reply = client.chat("llama3.2", USER, format=SCHEMA, options={"temperature": 0})
    assert isinstance(reply, ChatResponse)
    data = json.loads(reply.message.content)
    assert data["citations"][0]["id"] == "c0ffee01"
    assert data["citations"][0]["quote"] in PROMPT
    assert reply.done and reply.done_reason == "stop"
    assert reply.eval_tokens and reply.prompt_tokens and isinstance(reply.eval_tokens, int)
    # the fake's nanoseconds (5_000_000 total, 1_000_000 load, 2_000_000 each to read and to write) as milliseconds
    assert (reply.model_ms, reply.load_ms, reply.prompt_eval_ms, reply.eval_ms) == (5.0, 1.0, 2.0, 2.0)
    assert not {"total_duration", "eval_count", "prompt_eval_count"} & set(reply.to_dict())
    assert reply.message.role == "assistant"
    body = ollama.bodies("/api/chat")[-1]
    assert body == {
        "model": "llama3.2",
        "messages": USER,
        "format": SCHEMA,
        "options": {"temperature": 0},
        "stream": False,
    }
    assert reply.to_dict()["message"]["content"] == reply.message.content


def test_chat_stream_yields_chunks_then_stats(client: Client, ollama: FakeOllama) -> None:
    whole = client.chat("llama3.2", [Message("user", PROMPT)], format="json")
    chunks = list(client.chat("llama3.2", [Message("user", PROMPT)], format="json", stream=True))
    assert len(chunks) > 2
    assert "".join(c.message.content for c in chunks) == whole.message.content
    assert [c.done for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].eval_tokens == whole.eval_tokens and chunks[-1].eval_ms == 2.0
    assert ollama.bodies("/api/chat")[-1]["stream"] is True
    assert ollama.bodies("/api/chat")[-1]["messages"] == USER  # Message objects go out as plain dicts


def test_chat_think_is_sent_and_thinking_parsed(client: Client, ollama: FakeOllama) -> None:
    reply = client.chat("llama3.2", USER, think=True)
    assert reply.message.thinking
    assert ollama.bodies("/api/chat")[-1]["think"] is True


def test_generate_plain_and_streamed(client: Client, ollama: FakeOllama) -> None:
    prompt = "Why is the sky blue? Answer in one short sentence."
    reply = client.generate("llama3.2", prompt, system="Be brief.", raw=False)
    assert isinstance(reply, GenerateResponse)
    assert reply.response and reply.done
    chunks = list(client.generate("llama3.2", prompt, system="Be brief.", stream=True))
    assert "".join(c.response for c in chunks) == reply.response
    assert ollama.bodies("/api/generate")[0] == {
        "model": "llama3.2",
        "prompt": prompt,
        "system": "Be brief.",
        "stream": False,
        "raw": False,
    }


def test_chat_with_an_embedding_model_is_a_plain_ollama_error(client: Client, ollama: FakeOllama) -> None:
    with pytest.raises(OllamaError) as info:
        client.chat("all-minilm", USER)
    assert type(info.value) is OllamaError
    assert info.value.status_code == 400
    assert info.value.error == '"all-minilm" does not support chat'


def test_stream_error_status_is_raised_at_call_time_with_its_body(client: Client, ollama: FakeOllama) -> None:
    ollama.missing_models = {"llama3.2"}
    with pytest.raises(ModelNotFound) as info:
        client.chat("llama3.2", USER, stream=True)
    assert 'model "llama3.2" not found' in info.value.error


# ---- other endpoints ----------------------------------------------------------------------------------------------


def test_tags_show_version_ps(client: Client, ollama: FakeOllama) -> None:
    names = {m.name for m in client.tags()}
    assert {"all-minilm:latest", "llama3.2:latest", "nomic-embed-text:latest"} <= names
    tag = next(m for m in client.tags() if m.name == "all-minilm:latest")
    assert tag.family == "bert" and tag.size > 0 and len(tag.digest) == 64
    shown = client.show("nomic-embed-text:latest")
    assert (shown.context_length, shown.embedding_length) == (2048, 768)
    assert shown.capabilities == ["embedding"]
    assert shown.family == "nomic-bert"
    assert client.version() == VERSION
    assert client.ps() == []
    client.embed("all-minilm", ["load me"])
    assert [m.name for m in client.ps()] == ["all-minilm:latest"]
    with pytest.raises(ModelNotFound):
        client.show("no-such-model")


def test_pull_streams_progress_and_installs(client: Client, ollama: FakeOllama) -> None:
    ollama.missing_models = {"all-minilm"}
    progress = list(client.pull("all-minilm"))
    assert progress[0].status == "pulling manifest"
    assert progress[-1].status == "success"
    downloads = [p for p in progress if p.total]
    assert downloads and downloads[-1].completed == downloads[-1].total
    assert len(client.embed("all-minilm", ["now it works"]).embeddings) == 1
    assert ollama.bodies("/api/pull") == [{"model": "all-minilm", "stream": True}]


def test_pull_unknown_model_raises_the_servers_error(client: Client) -> None:
    with pytest.raises(OllamaError) as info:
        list(client.pull("no-such-model:7b"))
    assert "file does not exist" in info.value.error


# ---- unreachable, busy, retries -----------------------------------------------------------------------------------


def test_unreachable_names_the_url_and_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with Client(url, retries=1, backoff=0) as c:
        assert c.is_reachable() is False
        with pytest.raises(OllamaUnreachable) as info:
            c.embed("all-minilm", ["x"])
    assert url in str(info.value)
    assert "ollama serve" in str(info.value) and "OLLAMA_HOST" in str(info.value)
    assert info.value.__cause__ is not None


def test_is_reachable_true_for_a_running_server(client: Client) -> None:
    assert client.is_reachable() is True


def test_busy_503_is_retried_then_succeeds(client: Client, ollama: FakeOllama) -> None:
    ollama.fail_next(2, status=503)
    reply = client.chat("llama3.2", USER)
    assert reply.message.content
    assert ollama.count("/api/chat") == 3


def test_busy_503_gives_up_after_retries(ollama: FakeOllama) -> None:
    ollama.fail_next(10, status=503)
    with Client(ollama.url, retries=2, backoff=0.01) as c, pytest.raises(OllamaBusy) as info:
        c.tags()
    assert info.value.status_code == 503
    assert ollama.count("/api/tags") == 3


def test_500_is_retried_on_embed_only(client: Client, ollama: FakeOllama) -> None:
    ollama.fail_next(1, status=500, paths=["/api/embed"])
    assert client.embed("all-minilm", ["retry me"]).embeddings
    assert ollama.count("/api/embed") == 2
    ollama.fail_next(1, status=500, paths=["/api/chat"])
    with pytest.raises(OllamaError) as info:
        client.chat("llama3.2", USER)
    assert info.value.status_code == 500
    assert ollama.count("/api/chat") == 1


def test_connection_dropped_before_a_reply_is_retried_on_embed_not_on_chat(client: Client, ollama: FakeOllama) -> None:
    ollama.fail_next(1, status=0, paths=["/api/embed"])
    assert len(client.embed("all-minilm", ["a"]).embeddings) == 1
    assert ollama.count("/api/embed") == 2
    ollama.fail_next(1, status=0, paths=["/api/chat"])
    with pytest.raises(OllamaUnreachable):
        client.chat("llama3.2", [{"role": "user", "content": "hi"}])
    assert ollama.count("/api/chat") == 1


def test_503_before_a_stream_starts_is_retried(client: Client, ollama: FakeOllama) -> None:
    ollama.fail_next(1, status=503, paths=["/api/chat"])
    assert list(client.chat("llama3.2", USER, stream=True))[-1].done
    assert ollama.count("/api/chat") == 2


def test_error_line_mid_stream_raises_after_the_first_chunks(client: Client, ollama: FakeOllama) -> None:
    ollama.mid_stream_error = "llama runner process has terminated"
    received = []
    with pytest.raises(OllamaError) as info:
        for chunk in client.chat("llama3.2", USER, stream=True):
            received.append(chunk)
    assert len(received) == 2
    assert info.value.error == "llama runner process has terminated"
    assert ollama.count("/api/chat") == 1  # never re-sent once chunks flowed


def test_context_error_line_in_a_stream_maps_to_context_length(client: Client, ollama: FakeOllama) -> None:
    ollama.mid_stream_error = CONTEXT_ERROR
    with pytest.raises(ContextLengthExceeded):
        list(client.generate("llama3.2", "Tell me a long story about a llama.", stream=True))


def test_truncated_stream_raises(client: Client, ollama: FakeOllama) -> None:
    ollama.truncate_stream = True
    received = []
    with pytest.raises(OllamaError) as info:
        for chunk in client.chat("llama3.2", USER, stream=True):
            received.append(chunk)
    assert len(received) == 2 and not received[-1].done
    assert "stream" in str(info.value)
    assert ollama.count("/api/chat") == 1


def test_stream_that_ends_without_done_raises(client: Client, ollama: FakeOllama) -> None:
    ollama.truncate_stream = "clean"
    with pytest.raises(OllamaError, match="without a final done"):
        list(client.generate("llama3.2", "Tell me a long story about a llama.", stream=True))


def test_model_not_found_line_in_a_stream_maps_to_model_not_found(client: Client, ollama: FakeOllama) -> None:
    ollama.mid_stream_error = 'model "llama3.2" not found, try pulling it first'
    with pytest.raises(ModelNotFound) as info:
        list(client.chat("llama3.2", USER, stream=True))
    assert info.value.model == "llama3.2"


def test_read_timeout_on_chat_is_not_retried(ollama: FakeOllama) -> None:
    ollama.hold("/api/chat", 0)
    with Client(ollama.url, timeout=0.1, backoff=0) as c, pytest.raises(OllamaTimeout) as info:
        c.chat("llama3.2", USER)
    ollama.release()
    assert isinstance(info.value, OllamaUnreachable)
    assert "0.1 s" in str(info.value)
    assert ollama.count("/api/chat") <= 1  # (the one attempt may not have reached the server within 0.1 s)


def test_the_deadline_of_a_short_endpoint_covers_its_retries(ollama: FakeOllama) -> None:
    ollama.latency = 0.3
    with Client(ollama.url, timeout=0.05, retries=1, backoff=0) as c, pytest.raises(OllamaTimeout):
        c.tags()
    # the deadline passed: no second attempt (the one attempt may not have reached the server within 0.05 s)
    assert ollama.count("/api/tags") <= 1


def test_server_going_down_and_coming_back(client: Client, ollama: FakeOllama) -> None:
    assert client.embed("all-minilm", ["before"]).embeddings
    ollama.die()
    with pytest.raises(OllamaUnreachable):
        client.embed("all-minilm", ["while down"])
    ollama.restart()
    assert client.embed("all-minilm", ["after"]).embeddings  # same client, same port


def test_rag_settings_reach_the_client(ollama: FakeOllama) -> None:
    from rag import RAG

    ollama.hold("/api/chat", 0)
    with RAG(ollama_timeout_s=0.2, ollama_retries=0) as instance:
        assert instance.client.host == ollama.url
        assert (instance.client.timeout, instance.client.retries) == (0.2, 0)
        with pytest.raises(OllamaTimeout):
            instance.client.chat("llama3.2", USER)
    ollama.release()
    assert ollama.count("/api/chat") <= 1
