"""Multi-turn chat: follow-ups condensed into standalone queries (checked on the server), history trimming, REPL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import RAG
from rag.cli import cli
from support.hits import index_docs
from support.ollama_server import reply_for_schema

FIRST = "What does the embed endpoint return?"
FOLLOW_UP = "And how are they normalised?"
REWRITTEN = "How are the embedding vectors normalised?"


@pytest.fixture
def index(tmp_path, ollama):
    path = index_docs(tmp_path)
    ollama.reset()

    def reply(body: dict) -> str:
        if body.get("format"):
            return reply_for_schema(body["format"], "\n".join(m["content"] for m in body["messages"]))
        return REWRITTEN + "\n"

    ollama.chat_reply = reply
    return Path(path)


def test_follow_up_is_condensed_with_the_history(index, ollama) -> None:
    with RAG(index_dir=index) as rag:
        session = rag.chat()
        first = session.ask(FIRST)
        assert first.query == FIRST
        assert ollama.count("/api/chat") == 1, "no condensation without history"
        second = session.ask(FOLLOW_UP)
    assert second.query == REWRITTEN and second.question == FOLLOW_UP
    bodies = ollama.bodies("/api/chat")
    condense = bodies[1]
    assert "format" not in condense or condense["format"] is None
    prompt = condense["messages"][-1]["content"]
    assert FIRST in prompt and first.answer in prompt and FOLLOW_UP in prompt
    assert REWRITTEN in bodies[2]["messages"][-1]["content"]  # the answer call asks the standalone question
    assert second.hits[0].source == "docs/api.md"


def test_history_is_trimmed_to_the_budget(index) -> None:
    with RAG(index_dir=index) as rag:
        session = rag.chat()
        session.history_tokens = 1
        for question in (FIRST, FOLLOW_UP, "What lists installed models?"):
            session.ask(question)
        assert [t.question for t in session.history] == ["What lists installed models?"]


def test_without_a_chat_model_the_previous_query_is_prepended(index, ollama) -> None:
    with RAG(index_dir=index, chat_model="none") as rag:
        session = rag.chat()
        session.ask("Which endpoint returns embeddings?")
        second = session.ask("normalised?")
    assert second.mode == "extractive" and "embeddings" in second.query and "normalised?" in second.query
    assert ollama.count("/api/chat") == 0


def test_repl_reads_piped_lines_until_quit(index, ollama) -> None:
    stdin = f"{FIRST}\n\n{FOLLOW_UP}\nquit\nnever asked\n"
    result = CliRunner().invoke(cli, ["chat", "--index", str(index)], input=stdin)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("Sources:") == 2
    assert ollama.count("/api/chat") == 3  # answer, condense, answer


def test_repl_json_prints_one_answer_per_line_and_ends_at_eof(index) -> None:
    result = CliRunner().invoke(cli, ["chat", "--index", str(index), "--json"], input=f"{FIRST}\n{FOLLOW_UP}")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == [FIRST, FOLLOW_UP]
    assert answers[1]["query"] == REWRITTEN
