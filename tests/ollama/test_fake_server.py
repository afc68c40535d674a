"""The fake Ollama (tests/ollama_server.py) behaves like the real wire protocol where our code depends on it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import numpy as np
import pytest

from support.ollama_server import FakeOllama, canonical, count_tokens, embed_text, reply_for_schema
from support.paths import REPO, free_port


def _cos(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))


def test_embeddings_are_deterministic_and_meaningful() -> None:
    query = embed_text("How do I pull a model with Ollama?", 384)
    assert query == embed_text("How do I pull a model with Ollama?", 384)
    related = embed_text("Run ollama pull to download a model.", 384)
    unrelated = embed_text("The cat sat quietly on the warm windowsill.", 384)
    assert _cos(query, related) > _cos(query, unrelated)
    zh_query = embed_text("如何下载模型", 384)
    zh_related, zh_unrelated = embed_text("使用 ollama pull 下载模型文件", 384), embed_text("今天天气很好", 384)
    assert _cos(zh_query, zh_related) > _cos(zh_query, zh_unrelated)
    assert np.isclose(np.linalg.norm(embed_text("", 384)), 1.0)


def test_model_names_match_with_or_without_latest(ollama: FakeOllama) -> None:
    assert canonical("all-minilm") == canonical("all-minilm:latest") == "all-minilm:latest"
    assert canonical("library/qwen2.5:0.5b") == "library/qwen2.5:0.5b"
    ok = httpx.post(ollama.url + "/api/embed", json={"model": "all-minilm:latest", "input": "hi"})
    assert ok.status_code == 200 and len(ok.json()["embeddings"][0]) == 384
    ollama.missing_models = {"all-minilm"}
    missing = httpx.post(ollama.url + "/api/embed", json={"model": "all-minilm:latest", "input": "hi"})
    assert missing.status_code == 404
    assert missing.json() == {"error": 'model "all-minilm:latest" not found, try pulling it first'}


def test_streams_are_chunked_ndjson_over_a_kept_alive_connection(ollama: FakeOllama) -> None:
    body = {"model": "llama3.2", "messages": [{"role": "user", "content": "hello there"}]}
    with httpx.Client(base_url=ollama.url) as http:
        with http.stream("POST", "/api/chat", json=body) as r:
            assert r.headers["transfer-encoding"] == "chunked"
            lines = [json.loads(line) for line in r.iter_lines() if line]
        http.get("/api/version")
    assert lines[-1]["done"] is True and all(not line["done"] for line in lines[:-1])
    assert len({r.client_port for r in ollama.requests}) == 1


def test_schema_reply_quotes_the_chosen_chunk_and_follows_refs() -> None:
    schema = {
        "$defs": {
            "Cite": {
                "type": "object",
                "properties": {"chunk_id": {"enum": ["aa11", "bb22", "cc33"]}, "quote": {"type": "string"}},
            }
        },
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "found": {"type": "boolean"},
            "count": {"type": "integer"},
            "citations": {"type": "array", "items": {"$ref": "#/$defs/Cite"}, "minItems": 1},
        },
    }
    prompt = "[bb22] source: b.md\nLlamas live in the Andes mountains.\n[cc33]\n羊驼生活在安第斯山脉的高原上。\n"
    prompt += "Q: where?"
    data = json.loads(reply_for_schema(schema, prompt))
    assert data["citations"] == [{"chunk_id": "bb22", "quote": "Llamas live in the Andes mountains."}]
    assert data["answer"] == "Llamas live in the Andes mountains."
    assert data["found"] is True and data["count"] == 1
    zh = json.loads(reply_for_schema(schema, prompt.replace("Q: where?", "问题：羊驼生活在哪里？")))
    assert zh["citations"][0] == {"chunk_id": "cc33", "quote": "羊驼生活在安第斯山脉的高原上。"}


def test_schema_reply_cites_the_chunk_that_matches_the_question() -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "citations": {
                "type": "array",
                "items": {"type": "object", "properties": {"id": {"enum": ["S1", "S2"]}, "quote": {"type": "string"}}},
            },
        },
    }
    context = (
        "Cite ids such as S1.\n[S1] (llama.md, p. 3)\nLlamas are social animals. They eat grass and hay.\n"
        "[S2] (api.md)\nThe embed endpoint returns vectors. Use it for batches.\n"
    )
    eat = json.loads(reply_for_schema(schema, context + "Question: What do they eat?"))
    assert eat["citations"] == [{"id": "S1", "quote": "They eat grass and hay."}]
    vectors = json.loads(reply_for_schema(schema, context + "Question: Which endpoint returns vectors?"))
    assert vectors == {
        "answer": "The embed endpoint returns vectors.",
        "citations": [{"id": "S2", "quote": "The embed endpoint returns vectors."}],
    }


def test_scripted_replies_and_format_faults(ollama: FakeOllama) -> None:
    def chat(fmt: object = None) -> str:
        body = {
            "model": "llama3.2",
            "stream": False,
            "format": fmt,
            "messages": [{"role": "user", "content": "Say something useful about llamas."}],
        }
        return httpx.post(ollama.url + "/api/chat", json=body).json()["message"]["content"]

    ollama.chat_reply = ["first canned", "second canned"]
    assert [chat(), chat()] == ["first canned", "second canned"]
    ollama.chat_reply = lambda body: body["messages"][-1]["content"].upper()
    assert chat() == "SAY SOMETHING USEFUL ABOUT LLAMAS."
    ollama.reset()
    assert isinstance(json.loads(chat("json")), dict)
    ollama.malformed_json = True
    with pytest.raises(ValueError):
        json.loads(chat("json"))
    ollama.reset()
    ollama.ignore_format = True
    with pytest.raises(ValueError):
        json.loads(chat({"type": "object", "properties": {"answer": {"type": "string"}}}))


def test_fail_next_limits_to_paths_and_reset_clears(ollama: FakeOllama) -> None:
    ollama.fail_next(1, status=503, paths=["/api/chat"])
    assert httpx.get(ollama.url + "/api/version").status_code == 200
    ollama.fail_next(2, status=500)
    assert httpx.get(ollama.url + "/api/tags").status_code == 500
    ollama.reset()
    assert ollama.requests == []
    assert httpx.get(ollama.url + "/api/tags").status_code == 200
    assert ollama.count("/api/tags") == 1


def test_embed_counts_tokens_crudely_and_errors_without_truncation(ollama: FakeOllama) -> None:
    assert count_tokens("Hello, world 你好") == 5
    ollama.embed_context_length = 3
    body = {"model": "all-minilm", "input": ["one two three four"], "truncate": False}
    response = httpx.post(ollama.url + "/api/embed", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "the input length exceeds the context length"}
    truncated = httpx.post(ollama.url + "/api/embed", json=body | {"truncate": True}).json()
    assert truncated["embeddings"][0] == embed_text("one two three ", 384)
    assert truncated["prompt_eval_count"] == 3


def test_stop_and_restart_keep_the_port() -> None:
    server = FakeOllama().start()
    try:
        port = server.port
        server.stop()
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/api/version")
        server.restart()
        assert server.port == port
        assert httpx.get(server.url + "/api/version").status_code == 200
    finally:
        server.stop()


def test_cli_serves_until_killed() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "ollama_server.py"), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert url == f"http://127.0.0.1:{port}"
        assert httpx.get(url + "/api/tags").json()["models"]
    finally:
        proc.kill()
        proc.wait(timeout=10)
