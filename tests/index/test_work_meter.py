"""WorkMeter: work inside unfinished files from page and embedding events; it only grows and ends at the total."""

from __future__ import annotations

from ingest.precheck import OCR_PAGE_FACTOR
from ingest.report import PageProgress
from rag.cli.index import _status
from rag.index.progress import EXTRACT_SHARE, WorkMeter
from rag.index.report import IndexProgress


def test_a_text_pdf_moves_with_its_pages_then_its_chunks() -> None:
    meter = WorkMeter({"r/book.pdf": 1000, "r/note.txt": 10})
    seen = []
    for n in range(1, 11):
        meter.page(PageProgress("r/book.pdf", "text", n, 10))
        seen.append(meter.done())
    assert seen == sorted(seen) and seen[-1] == int(1000 * EXTRACT_SHARE)
    meter.embedded("r/book.pdf", 30, 60)
    assert meter.done() == int(1000 * (EXTRACT_SHARE + (1 - EXTRACT_SHARE) / 2))
    meter.finish("r/book.pdf")
    meter.finish("r/note.txt")
    assert meter.done() == 1010


def test_a_scan_counts_its_ocr_pages_as_the_bulk_of_its_extraction() -> None:
    meter = WorkMeter({"r/scan.pdf": 2100})
    meter.page(PageProgress("r/scan.pdf", "text", 1, 2, scans=1))
    meter.page(PageProgress("r/scan.pdf", "text", 2, 2, scans=2))
    after_text = meter.done()
    assert after_text == int(2100 * EXTRACT_SHARE * 2 / (2 + 2 * OCR_PAGE_FACTOR))
    meter.page(PageProgress("r/scan.pdf", "ocr", 1, 2, scans=2))
    half = meter.done()
    meter.page(PageProgress("r/scan.pdf", "ocr", 2, 2, scans=2))
    assert after_text < half < meter.done() == int(2100 * EXTRACT_SHARE)
    meter.page(PageProgress("r/scan.pdf", "text", 1, 2))  # a late or repeated event never moves it back
    assert meter.done() == int(2100 * EXTRACT_SHARE)


def test_status_line_names_the_file_and_where_inside_it() -> None:
    base = {"files_done": 3, "files_total": 9, "chunks": 120, "current": "docs/book.pdf"}
    assert _status(IndexProgress("page", stage="text", stage_done=120, stage_total=352, **base), 40.0) == (
        "3/9 files, 120 chunks (40/s), now: docs/book.pdf p. 120/352"
    )
    assert _status(IndexProgress("page", stage="ocr", stage_done=3, stage_total=40, **base), 0).endswith(
        "now: docs/book.pdf OCR p. 3/40"
    )
    assert _status(IndexProgress("page", stage="embed", stage_done=400, stage_total=900, **base), 0).endswith(
        "embedding 400/900 chunks"
    )
    assert _status(IndexProgress("file", **base), 0).endswith("now: docs/book.pdf")
