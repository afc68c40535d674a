"""The Ollama- and OpenAI-compatible faces, driven by the official `ollama` and `openai` clients (and curl) over a
real socket: collections are models, answers come from the documents with their citations."""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import pytest

from rag.answer.types import CLOSEST_HEADING, REVISED_HEADING
from support.answers import RESTATING_QUESTION, VERIFIED_SENTENCE, restating_reply, unmarked

QUESTION = "What does the embed endpoint return?"


def _messages(question: str = QUESTION) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def test_ollama_client_lists_collections_as_models(server) -> None:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=server.url)
    names = [m.model for m in client.list().models]
    assert names == ["rag:default"]
    assert httpx.get(f"{server.url}/api/version", timeout=30).json()["version"]


def test_ollama_client_chat_answers_from_the_documents(server, rag) -> None:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=server.url)
    reply = client.chat(model="rag:default", messages=_messages())
    expected = rag.ask(QUESTION)
    assert reply.message.role == "assistant" and reply.done
    text = reply.message.content
    assert text.startswith(unmarked(expected.answer))  # the message streams the claims; sources follow
    assert "\n\nSources:\n[1] " in text and expected.citations[0].source in text

    pieces = list(client.chat(model="rag:default", messages=_messages(), stream=True))
    assert len(pieces) > 2 and pieces[-1].done and not any(p.done for p in pieces[:-1])
    assert "".join(p.message.content for p in pieces) == text


def test_ollama_face_reports_stats_in_ollamas_nanoseconds(server, rag, ollama) -> None:
    ollama_client = pytest.importorskip("ollama")
    client = ollama_client.Client(host=server.url)
    expected = rag.ask(QUESTION).timings  # milliseconds in the library
    assert expected.eval_ms == 2.0 and expected.load_ms == 1.0  # the fake Ollama's 2_000_000 ns and 1_000_000 ns
    for reply in (
        client.chat(model="rag:default", messages=_messages()),
        [*client.chat(model="rag:default", messages=_messages(), stream=True)][-1],
    ):
        assert reply.done
        assert (reply.eval_duration, reply.prompt_eval_duration, reply.load_duration) == (
            2_000_000,
            2_000_000,
            1_000_000,
        )
        assert (reply.prompt_eval_count, reply.eval_count) == (expected.prompt_tokens, expected.eval_tokens)
        assert isinstance(reply.total_duration, int) and reply.total_duration > 0  # this request's wall time
    raw = httpx.post(
        f"{server.url}/api/chat", json={"model": "rag:default", "messages": _messages(), "stream": False}, timeout=60
    ).json()
    assert raw["eval_count"] == expected.eval_tokens and raw["eval_duration"] == 2_000_000
    assert not any(key.endswith(("_ms", "_tokens")) for key in raw)  # Ollama's wire names only


def test_ollama_client_generate_and_follow_up(server) -> None:
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=server.url)
    generated = client.generate(model="rag:default", prompt="How are models downloaded?")
    assert "pull" in generated.response.lower() and "Sources:" in generated.response
    history = [
        *_messages("How are models downloaded?"),
        {"role": "assistant", "content": generated.response},
        {"role": "user", "content": "And how are they listed?"},
    ]
    follow_up = client.chat(model="rag", messages=history)
    assert "Sources:" in follow_up.message.content


def test_a_declined_answer_brings_its_closest_passages_and_history_drops_them(server, ollama) -> None:
    declined = json.dumps({"answerable": False, "citations": []})
    ollama.chat_reply = [declined]
    reply = httpx.post(
        f"{server.url}/api/chat", json={"model": "rag:default", "messages": _messages(), "stream": False}, timeout=60
    ).json()
    first = reply["message"]["content"]
    answer, _, closest = first.partition(f"\n\n{CLOSEST_HEADING}\n")
    assert "do not answer" in answer and "Sources:" not in first
    assert closest.startswith("[1] docs/") and "embed endpoint returns" in closest
    assert reply["citations"] == [] and reply["closest"], "the passages ride along as a structured field too"
    assert [c["n"] for c in reply["closest"]] == list(range(1, len(reply["closest"]) + 1))
    assert all(" ".join(c["quote"].split()) in closest for c in reply["closest"])
    ollama.reset()
    ollama.chat_reply = [json.dumps({"question": "And what about chat replies?"}), declined]
    history = [*_messages(), {"role": "assistant", "content": first}, {"role": "user", "content": "And chat replies?"}]
    httpx.post(
        f"{server.url}/api/chat", json={"model": "rag:default", "messages": history, "stream": False}, timeout=60
    )
    sent = json.dumps(ollama.bodies("/api/chat"), ensure_ascii=False)
    assert "do not answer" in sent and "Closest passages" not in sent  # the earlier answer, not its passages
    ollama.reset()
    ollama.chat_reply = [declined]
    completion = httpx.post(
        f"{server.url}/v1/chat/completions", json={"model": "rag:default", "messages": _messages()}, timeout=60
    ).json()
    assert completion["citations"] == [] and completion["closest"] == reply["closest"]  # the OpenAI face alike


def test_ollama_face_errors_are_ollama_errors(server) -> None:
    ollama = pytest.importorskip("ollama")
    with pytest.raises(ollama.ResponseError) as caught:
        ollama.Client(host=server.url).chat(model="rag:missing", messages=_messages())
    assert "rag index" in caught.value.error and caught.value.status_code == 503


def test_curl_gets_citations_as_a_structured_field(server) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    body = json.dumps({"model": "rag:default", "messages": _messages(), "stream": False})
    done = subprocess.run(
        [curl, "-sS", "--max-time", "60", f"{server.url}/api/chat", "-d", body],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["done"] is True and reply["citations"]
    assert all(c["verified"] and c["quote"] in reply["message"]["content"] for c in reply["citations"])
    streamed = subprocess.run(
        [
            curl,
            "-sSN",
            "--max-time",
            "60",
            f"{server.url}/api/chat",
            "-d",
            json.dumps({"model": "rag:default", "messages": _messages()}),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in streamed.stdout.splitlines() if line]
    assert lines[-1]["done"] is True and lines[-1]["citations"] == reply["citations"]
    assert "".join(line["message"]["content"] for line in lines) == reply["message"]["content"]


def test_openai_client_chat_completions(server, rag) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
    assert [m.id for m in client.models.list()] == ["rag:default"]
    completion = client.chat.completions.create(model="rag:default", messages=_messages())
    text = completion.choices[0].message.content
    assert text.startswith(unmarked(rag.ask(QUESTION).answer)) and "Sources:" in text
    assert completion.choices[0].finish_reason == "stop" and completion.usage.total_tokens > 0
    assert completion.model_extra["citations"] and completion.model_extra["closest"] == []  # answered: none

    chunks = list(client.chat.completions.create(model="rag:default", messages=_messages(), stream=True))
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text


def test_openai_client_sees_errors(server) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=60)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="rag:missing", messages=_messages())
    assert caught.value.status_code == 503 and "rag index" in str(caught.value)


def test_a_stream_the_checks_changed_ends_with_the_verified_answer_and_history_keeps_only_that(server, ollama) -> None:
    ollama.chat_reply = restating_reply
    first = {"model": "rag:default", "messages": _messages(RESTATING_QUESTION)}
    with httpx.stream("POST", f"{server.url}/api/chat", json=first, timeout=60) as response:
        text = "".join(json.loads(line)["message"]["content"] for line in response.iter_lines() if line)
    streamed, _, verified = text.partition(f"\n\n{REVISED_HEADING}\n")
    assert "returns it for each input string" in streamed
    assert verified.startswith(f"{VERIFIED_SENTENCE[:-1]} [1].")
    ollama.reset()
    declined = json.dumps({"answerable": False, "citations": []})
    ollama.chat_reply = [json.dumps({"question": "And chat replies?"}), declined]
    history = [*first["messages"], {"role": "assistant", "content": text}, {"role": "user", "content": "And chat?"}]
    body = {"model": "rag:default", "messages": history, "stream": False}
    httpx.post(f"{server.url}/api/chat", json=body, timeout=60)
    sent = json.dumps(ollama.bodies("/api/chat"), ensure_ascii=False)
    assert VERIFIED_SENTENCE[:-1] in sent and "returns it for each" not in sent
