"""Fixtures for the server tests: an indexed corpus, one `RAG` over it, and `rag serve`'s app on a real socket."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from rag import RAG  # noqa: E402
from support.hits import write_docs  # noqa: E402
from support.server import RunningServer  # noqa: E402

TOKEN = "s3cret-token"


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
