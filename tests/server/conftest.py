"""Fixtures for the server tests: an indexed corpus, one `RAG` over it, and `rag serve`'s app on a real socket."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from rag import RAG
from support.hits import write_docs
from support.server import RunningServer

TOKEN = "s3cret-token"  # the token_server fixture's; tests/server/test_auth.py repeats it


@pytest.fixture
def rag(tmp_path: Path, ollama):
    write_docs(tmp_path / "docs")
    with RAG(tmp_path / "index", embed_backend="ollama", min_score=0.0) as rag:
        report = rag.index(tmp_path / "docs")
        assert report.error is None
        ollama.reset()
        yield rag


@pytest.fixture
def server(rag: RAG):
    with RunningServer(rag) as running:
        yield running


@pytest.fixture
def token_server(rag: RAG):
    with RunningServer(rag, host="0.0.0.0", token=TOKEN) as running:
        yield running
