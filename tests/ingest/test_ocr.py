"""OCR (the [ocr] extra) of a scanned PDF and an image the test renders itself; skipped without the extra."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest import ExtractParams, discover, extract, load
from ingest.loaders import ocr
from support.scans import text_then_scan_pdf

pytestmark = pytest.mark.skipif(not ocr.available(), reason="the [ocr] extra (rapidocr-onnxruntime) is not installed")
LINES = ["The river runs north", "Ferries cross twice daily"]


def _scan():
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1200, 400), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=56)
    for i, line in enumerate(LINES):
        draw.text((60, 80 + i * 120), line, fill=0, font=font)
    return image


def _source(tmp_path: Path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    return next(s for s in discover(tmp_path) if s.rel == name)


def test_scanned_pdf_page_is_ocred_and_marked(tmp_path: Path) -> None:
    out = io.BytesIO()
    _scan().save(out, format="PDF", resolution=150)  # an image-only PDF page: no text layer
    report, chunks = extract(_source(tmp_path, "scan.pdf", out.getvalue()))
    assert report.status == "ok", report.reason
    assert "pages 1: OCR (no text layer)" in report.warnings
    text = " ".join(c.text for c in chunks).lower()
    assert "river" in text and "north" in text and "ferries" in text
    assert all(c.page_start == 1 and c.ocr for c in chunks)


def test_ocr_pages_are_marked_on_pages_and_chunks(tmp_path: Path) -> None:
    data = text_then_scan_pdf("Chapter one. The harbour opened in 1850 for grain ships.")
    src = _source(tmp_path, "mixed.pdf", data)
    doc = load(src)
    assert [(p.number, p.ocr) for p in doc.pages] == [(1, False), (2, True)]
    report, chunks = extract(src, ExtractParams(chunk_tokens=8, chunk_overlap=0))
    assert report.status == "ok", report.reason
    marks = {(c.page_start, c.page_end, c.ocr) for c in chunks}
    assert (1, 1, False) in marks and (2, 2, True) in marks
    assert all(c.ocr == (c.page_end == 2) for c in chunks)
    ocred = " ".join(c.text for c in chunks if c.ocr).lower()
    assert "ferries" in ocred and "harbour" not in ocred


def test_png_is_read_by_ocr(tmp_path: Path) -> None:
    out = io.BytesIO()
    _scan().save(out, format="PNG")
    doc = load(_source(tmp_path, "note.png", out.getvalue()))
    assert doc.kind == "image" and "Ferries" in doc.text and [p.number for p in doc.pages] == [1]
    assert all(p.ocr for p in doc.pages)


def test_a_tall_page_is_read_in_bands_and_every_line_once_in_order() -> None:
    from PIL import Image, ImageDraw, ImageFont

    [_, (top, keep_from, _), *_] = ocr.bands(1024)  # the second band: where it starts, where its share starts
    rows = {
        60: "The river runs north",
        top - 20: "Ferries cross twice daily",  # crosses the second band's top edge: read whole by the first
        keep_from - 10: "Gulls follow the boats",  # whole in both bands: kept by the second only
        900: "Harbour lights at dusk",
    }
    image = Image.new("L", (1000, 1024), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for y, line in rows.items():
        draw.text((60, y), line, fill=0, font=font)
    read = [line.lower().replace(" ", "") for line in ocr.image_text(image).splitlines()]
    assert read == [line.lower().replace(" ", "") for line in rows.values()]
