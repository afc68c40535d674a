"""sample_docs/: the generated PDFs have several pages with extractable text (Chinese included), the generator is
deterministic and in sync with the committed files, and the quickstart works offline (built-in embedder, extractive
answer with a page-numbered citation)."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import pypdf
import pytest

from ingest.discover import discover
from support.paths import REPO

SAMPLE = REPO / "sample_docs"
SCRIPTS = REPO / "scripts"
PDFS = ("handbook.pdf", "handbook-zh.pdf")


def _page_texts(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


@pytest.mark.parametrize("name", PDFS)
def test_pdf_has_pages_with_text(name: str) -> None:
    pages = _page_texts(SAMPLE / name)
    assert len(pages) >= 2
    assert all(len(text.strip()) > 100 for text in pages)
    assert len(set(pages)) == len(pages)


def test_chinese_pdf_text_comes_back_exactly() -> None:
    source = (SCRIPTS / "sample_pdf" / "handbook-zh.md").read_text(encoding="utf-8")
    text = "".join(_page_texts(SAMPLE / "handbook-zh.pdf"))
    for phrase in ("用 rag doctor 检查环境", "查看和下载模型", "同一个索引中不会混用两个模型的向量"):
        assert phrase in source and phrase in text.replace("\n", "")


def test_every_kind_is_present_and_discovered() -> None:
    found = {f.rel: f for f in discover(SAMPLE)}
    kinds = {f.kind for f in found.values()}
    assert {"pdf", "markdown", "html"} <= kinds
    assert all(f.skip_reason is None for f in found.values())
    assert not any(rel.endswith(".py") for rel in found), "the generator must live outside sample_docs"


def _generator():
    if importlib.util.find_spec("reportlab") is None:
        pytest.skip("reportlab is not installed (pip install 'ollama-rag[docs]')")
    spec = importlib.util.spec_from_file_location("make_sample_pdf", SCRIPTS / "make_sample_pdf.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_generator_is_deterministic_and_matches_the_committed_pdfs(tmp_path: Path) -> None:
    generator = _generator()
    first = generator.build_all(tmp_path / "a")
    second = generator.build_all(tmp_path / "b")
    assert sorted(p.name for p in first) == sorted(PDFS)
    for a, b in zip(first, second, strict=False):
        assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
        assert _page_texts(a) == _page_texts(SAMPLE / a.name), f"sample_docs/{a.name} is stale: re-run the generator"


def test_markdown_subset_parser() -> None:
    blocks = _generator().parse("# T\n\n## S\n\nline one\nline two\n\n- item\n  continued\n- 中文\n  续行\n")
    assert blocks == [
        ("title", "T"),
        ("section", "S"),
        ("para", "line one line two"),
        ("bullet", "item continued"),
        ("bullet", "中文续行"),
    ]


def test_quickstart_offline_cites_a_pdf_page(tmp_path: Path) -> None:
    from rag import RAG

    with RAG(tmp_path / "index") as rag:  # OLLAMA_HOST points at a closed port (conftest)
        report = rag.index(SAMPLE)
        answer = rag.ask("What exit code does rag doctor use when something needed is broken?")
    assert report.embed_model.startswith("all-minilm")
    assert answer.mode == "extractive"
    pdf_citations = [c for c in answer.citations if c.source.endswith("handbook.pdf")]
    assert pdf_citations and all(c.page_start == 1 for c in pdf_citations)
