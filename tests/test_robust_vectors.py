"""a NaN or infinite vector from the embedder is refused (query and documents alike), and --json is always
valid JSON (no bare NaN)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import EmbedderError
from support.hits import index_docs, write_docs

QUESTION = "What does the embed endpoint return?"


def _strict_json(text: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"invalid JSON token {token}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_a_bad_query_vector_is_refused_and_the_answer_falls_back_to_bm25(tmp_path, ollama, bad: str) -> None:
    index = index_docs(tmp_path)
    ollama.reset()
    ollama.bad_vectors = bad
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--index", index, "--json"])
    assert result.exit_code == 0, result.output
    answer = _strict_json(result.stdout)
    assert all(h["dense_score"] is None for h in answer["hits"])  # no random dense hits
    assert any("unusable vector" in w for w in answer["warnings"])


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_the_embedder_checks_query_vectors_like_document_vectors(ollama, bad: str) -> None:
    from rag.embed import open_embedder

    ollama.bad_vectors = bad
    with open_embedder("all-minilm", "ollama") as embedder:
        with pytest.raises(EmbedderError, match="the query"):
            embedder.embed_query("what is in the index?")
        with pytest.raises(EmbedderError, match="a document"):
            embedder.embed_documents(["one chunk"])


def test_an_index_run_with_bad_vectors_stores_none_of_them(tmp_path, ollama) -> None:
    write_docs(tmp_path / "docs")
    ollama.bad_vectors = "nan"
    result = CliRunner().invoke(cli, ["index", str(tmp_path / "docs"), "--index", str(tmp_path / "idx"), "--json"])
    assert result.exit_code == 2, result.output
    report = _strict_json(result.stdout)
    assert "unusable vector" in json.dumps(report) and report["added"] == 0


def test_results_never_carry_nan_into_json() -> None:
    from rag._result import _plain

    assert json.dumps(_plain({"a": float("nan"), "b": [np.float64("inf"), 1.0]})) == '{"a": null, "b": [null, 1.0]}'
