"""A scanned PDF the test generates, indexed and asked about: its citation reads "p. 1, OCR" (text and --json)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ingest.loaders import ocr
from rag.cli import cli
from support.scans import scan_pdf

pytestmark = pytest.mark.skipif(not ocr.available(), reason="the [ocr] extra (rapidocr-onnxruntime) is not installed")


@pytest.fixture
def index(tmp_path, ollama):
    from rag import RAG

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "scan.pdf").write_bytes(scan_pdf())
    with RAG(index_dir=tmp_path / "index", file_timeout_s=600) as rag:  # OCR is slow on a loaded machine
        report = rag.index(tmp_path / "docs")
    assert report.error is None, report.error
    return str(tmp_path / "index")


def test_citation_of_an_ocred_page_says_ocr(index) -> None:
    runner = CliRunner()
    human = runner.invoke(cli, ["ask", "When do the ferries cross?", "--index", index])
    assert human.exit_code == 0, human.output
    assert "[1] docs/scan.pdf p. 1, OCR" in human.stdout
    data = runner.invoke(cli, ["ask", "When do the ferries cross?", "--index", index, "--json"])
    assert data.exit_code == 0, data.output
    answer = json.loads(data.stdout)
    assert answer["citations"] and all(c["ocr"] is True and c["page_start"] == 1 for c in answer["citations"])
    assert all(h["ocr"] is True for h in answer["hits"])
