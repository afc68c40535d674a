"""`--timeout` / RAG_OLLAMA_TIMEOUT set the wall-clock deadline of `rag ask` and `rag index`; a trickling
or never-ending Ollama ends the command with a clear outcome instead of hanging."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rag.cli import cli
from support.hits import index_docs, write_docs

QUESTION = "What does the embed endpoint return?"


@pytest.fixture
def index(tmp_path, ollama):
    path = index_docs(tmp_path)
    ollama.reset()
    return path


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_trickling_chat_ends_at_the_deadline_with_an_extractive_answer(index, ollama, how: str) -> None:
    ollama.trickle = {"/api/chat": 0.2}
    args, env = (["--timeout", "1"], {}) if how == "option" else ([], {"RAG_OLLAMA_TIMEOUT": "1"})
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--index", index, *args], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("(extractive)")
    assert "did not answer within 1 s" in result.stderr


def test_a_never_ending_stream_ends_ask_stream_at_the_deadline(index, ollama) -> None:
    ollama.endless_stream = True
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--stream", "--index", index, "--timeout", "1"])
    assert result.exit_code == 0, result.output  # the engine falls back to an extractive answer, with a warning
    assert "did not answer within 1 s" in result.stderr and "Traceback" not in result.output
    assert "Sources:" in result.stdout


def test_a_trickling_embed_stops_rag_index_with_exit_2_and_keeps_what_was_indexed(tmp_path, index, ollama) -> None:
    write_docs(tmp_path / "more")
    (tmp_path / "more" / "new.md").write_text("# New\n\nAlpacas are smaller than llamas and have shorter ears.\n")
    ollama.trickle = {"/api/embed": 0.2}
    result = CliRunner().invoke(cli, ["index", str(tmp_path / "more"), "--index", index, "--timeout", "1"])
    assert result.exit_code == 2, result.output
    assert "did not answer within 1 s" in result.output
    ollama.reset()
    status = CliRunner().invoke(cli, ["status", "--index", index])
    assert "Collection 'default'" in status.stdout  # the earlier index is intact


def test_a_bad_env_value_is_a_clear_error(index, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.config import Settings
    from rag.errors import RagError

    monkeypatch.setenv("RAG_OLLAMA_TIMEOUT", "soon")
    with pytest.raises(RagError, match="environment variable RAG_OLLAMA_TIMEOUT: ollama_timeout_s must be"):
        Settings.resolve()
    monkeypatch.setenv("RAG_OLLAMA_TIMEOUT", "2.5")
    assert Settings.resolve().ollama_timeout_s == 2.5
    assert Settings.resolve(ollama_timeout_s=7.0).ollama_timeout_s == 7.0  # an explicit value wins
    monkeypatch.delenv("RAG_OLLAMA_TIMEOUT")
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--index", index], env={"RAG_OLLAMA_TIMEOUT": "-3"})
    assert result.exit_code == 2 and "--timeout" in result.output
