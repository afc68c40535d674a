"""Progress from inside one file: page events from the extraction worker (over its pipe) and in-process, in order."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from reportlab.pdfgen import canvas

from ingest import ExtractParams, discover, extract, extract_many
from ingest.loaders import ocr
from ingest.pipeline import PAGE_EVENTS_PER_STAGE
from ingest.report import PageProgress
from support.scans import scan_pdf


def _book(pages: int) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    for n in range(pages):
        c.drawString(72, 720, f"Page {n + 1} of the long book about rivers, mills and bridges.")
        c.showPage()
    c.save()
    return out.getvalue()


def _folder(tmp_path: Path, files: dict[str, bytes]) -> list:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return sorted(discover(tmp_path), key=lambda s: s.rel)


def _stage(events: list[PageProgress], source: str, stage: str) -> list[tuple[int, int]]:
    return [(e.done, e.total) for e in events if e.source == source and e.stage == stage]


@pytest.mark.parametrize("workers", [1, 2, 0])
def test_page_events_arrive_in_order_and_end_at_the_page_count(tmp_path: Path, workers: int) -> None:
    files = _folder(tmp_path, {"a.pdf": _book(7), "b.pdf": _book(3), "c.txt": b"A short note on ferries."})
    events: list[PageProgress] = []
    results = list(extract_many(files, workers=workers, on_progress=events.append))
    assert [r.status for _, r, _ in results] == ["ok"] * 3
    root = tmp_path.name
    assert _stage(events, f"{root}/a.pdf", "text") == [(n, 7) for n in range(1, 8)]
    assert _stage(events, f"{root}/b.pdf", "text") == [(n, 3) for n in range(1, 4)]
    assert {e.source for e in events} == {f"{root}/a.pdf", f"{root}/b.pdf"}  # a text file has no pages to report
    assert all(e.scans == 0 for e in events)


def test_a_long_file_sends_about_a_hundred_text_events(tmp_path: Path) -> None:
    [src] = _folder(tmp_path, {"book.pdf": _book(250)})
    events: list[PageProgress] = []
    [(_, report, _)] = list(extract_many([src], ExtractParams(timeout_s=600), workers=1, on_progress=events.append))
    assert report.pages == 250
    done = [e.done for e in events]
    assert done == sorted(set(done)) and done[0] == 1 and done[-1] == 250
    assert len(done) <= PAGE_EVENTS_PER_STAGE + 2


def test_without_a_listener_no_events_and_the_same_result(tmp_path: Path) -> None:
    [src] = _folder(tmp_path, {"a.pdf": _book(4)})
    events: list[PageProgress] = []
    heard = extract(src, ExtractParams(), events.append)
    assert extract(src) == heard and len(events) == 4


@pytest.mark.skipif(not ocr.available(), reason="the [ocr] extra (rapidocr-onnxruntime) is not installed")
def test_scanned_pages_report_an_ocr_stage_after_the_text_layer(tmp_path: Path) -> None:
    # OCR on a loaded machine can take minutes: the file deadline is not what is tested here
    lines = [("The river runs north",), ("Ferries cross twice daily",)]
    [src] = _folder(tmp_path, {"scan.pdf": scan_pdf(lines)})
    events: list[PageProgress] = []
    [(_, report, _)] = list(extract_many([src], workers=1, on_progress=events.append))
    assert report.status == "ok", report.reason
    assert [(e.stage, e.done, e.total, e.scans) for e in events] == [
        ("text", 1, 2, 1),
        ("text", 2, 2, 2),
        ("ocr", 1, 2, 2),
        ("ocr", 2, 2, 2),
    ]
