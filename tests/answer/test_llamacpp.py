"""In-process GGUF chat (rag.answer.llamacpp). Backend selection and the error paths always run; the model-backed tests
need llama_cpp and env RAG_TEST_GGUF pointing at a GGUF chat model (e.g. Qwen2.5-0.5B-Instruct Q4_K_M)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import jsonschema
import pytest

from rag.answer.llamacpp import LlamaCppChat, check_gguf, gguf_path, is_gguf, llama_cpp_available, open_chat_backend
from rag.config import Settings
from rag.errors import ContextLengthExceeded, RagError
from rag.ollama import ChatResponse, Client

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "sources": {"type": "array", "items": {"type": "integer"}}},
    "required": ["answer", "sources"],
    "additionalProperties": False,
}
MESSAGES = [
    {"role": "system", "content": "Answer from the sources only. Reply with JSON."},
    {
        "role": "user",
        "content": "[1] The default keep_alive is 5 minutes.\n\nQuestion: What is the default keep_alive?",
    },
]


@pytest.fixture
def fake_gguf(tmp_path: Path) -> Path:
    """A file with the GGUF magic (enough for the checks; not loadable)."""
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return path


def test_names() -> None:
    assert is_gguf("gguf:/m/q.gguf") and not is_gguf("llama3.2")
    assert gguf_path("gguf:~/q.gguf") == Path.home() / "q.gguf"
    with pytest.raises(ValueError):
        gguf_path("llama3.2")


def test_ollama_model_names_select_the_ollama_client() -> None:
    with Client() as client:
        for model in ("llama3.2", "none"):
            assert open_chat_backend(Settings.resolve(chat_model=model), client) is client


def test_missing_llama_cpp_says_how_to_install(fake_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp now raises ImportError
    assert not llama_cpp_available()
    with Client() as client, pytest.raises(RagError, match=r"pip install 'ollama-rag\[local\]'"):
        open_chat_backend(Settings.resolve(chat_model=f"gguf:{fake_gguf}"), client)


@pytest.mark.skipif(not llama_cpp_available(), reason="llama_cpp is not installed")
class TestWithLlamaCpp:
    def test_gguf_selects_the_llama_cpp_backend(self, fake_gguf: Path) -> None:
        with Client() as client:
            backend = open_chat_backend(Settings.resolve(chat_model=f"gguf:{fake_gguf}"), client)
        assert isinstance(backend, LlamaCppChat) and backend.path == fake_gguf
        assert backend.model == f"gguf:{fake_gguf}"

    def test_missing_and_non_gguf_files(self, tmp_path: Path) -> None:
        with pytest.raises(RagError, match="not found"):
            check_gguf(f"gguf:{tmp_path / 'absent.gguf'}")
        text = tmp_path / "notes.gguf"
        text.write_text("not a model")
        with pytest.raises(RagError, match="not a GGUF"):
            check_gguf(f"gguf:{text}")

    def test_unloadable_file_is_a_rag_error(self, fake_gguf: Path) -> None:
        backend = LlamaCppChat(fake_gguf)
        with pytest.raises(RagError, match="could not load"):
            backend.chat(backend.model, MESSAGES)

    def test_other_model_name_is_a_programmer_error(self, fake_gguf: Path) -> None:
        with pytest.raises(ValueError):
            LlamaCppChat(fake_gguf).chat("llama3.2", MESSAGES)
        with pytest.raises(ValueError):
            LlamaCppChat(fake_gguf).chat(f"gguf:{fake_gguf}", MESSAGES, format="yaml")


def _model_file() -> Path:
    value = os.environ.get("RAG_TEST_GGUF")
    if not value or not Path(value).is_file():
        pytest.skip("set RAG_TEST_GGUF to a GGUF chat model file to run this test")
    if not llama_cpp_available():
        pytest.skip("llama_cpp is not installed")
    return Path(value)


@pytest.fixture(scope="module")
def local_backend():
    backend = LlamaCppChat(_model_file(), seed=42)
    yield backend
    backend.close()


def test_schema_constrained_answer(local_backend: LlamaCppChat) -> None:
    options = {"temperature": 0, "num_ctx": 1024, "num_predict": 64}
    reply = local_backend.chat(local_backend.model, MESSAGES, format=SCHEMA, options=options)
    assert isinstance(reply, ChatResponse) and reply.done
    data = json.loads(reply.message.content)
    jsonschema.validate(data, SCHEMA)
    assert reply.prompt_tokens and reply.prompt_tokens > 10
    assert reply.eval_tokens and reply.eval_tokens > 0
    assert reply.model_ms and reply.load_ms is not None and reply.model_ms >= reply.load_ms >= 0
    assert local_backend.show().context_length and local_backend.show().context_length >= 1024


def test_streamed_answer_joins_to_schema_json(local_backend: LlamaCppChat) -> None:
    options = {"temperature": 0, "num_ctx": 1024, "num_predict": 64}
    chunks = list(local_backend.chat(local_backend.model, MESSAGES, format=SCHEMA, options=options, stream=True))
    assert chunks[-1].done and not any(c.done for c in chunks[:-1])
    assert chunks[-1].done_reason in ("stop", "length") and chunks[-1].eval_tokens == len(chunks) - 1
    text = "".join(c.message.content for c in chunks)
    if chunks[-1].done_reason == "stop":
        jsonschema.validate(json.loads(text), SCHEMA)


def test_prompt_longer_than_context(local_backend: LlamaCppChat) -> None:
    long = [{"role": "user", "content": "llama " * 2000}]
    with pytest.raises(ContextLengthExceeded, match="num_ctx"):
        local_backend.chat(local_backend.model, long, options={"num_ctx": 512, "num_predict": 8})
