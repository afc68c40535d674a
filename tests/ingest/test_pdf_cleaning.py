"""PDFium extraction with header/footer and hyphen cleaning, on PDFs written with reportlab; textclean offsets."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from ingest import ExtractParams, chunk, discover, extract, load
from ingest.textclean import clean_pages

BODY = [
    ["The river runs north in spring and the ferries", "cross it twice a day when the water is high."],
    ["Mills line the eastern bank; their owners guard", "the old rights with remarkable cre-", "ativity and care."],
    ["The bridge was finished in 1890 after a long", "debate about its cost and its shape."],
    ["Floods came back in 1910, and again in 1955,", "each time higher than the marks before."],
    ["Today the valley keeps its mills as museums."],
]


def _pdf(pages: list[list[str]], *, header: str | None, footer: bool) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for number, lines in enumerate(pages, start=1):
        if header:
            c.drawString(72, 800, header)
        y = 740
        for line in lines:
            c.drawString(72, y, line)
            y -= 16
        if footer:
            c.drawString(290, 40, str(number))
        c.showPage()
    c.save()
    return out.getvalue()


def _source(tmp_path: Path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    return next(s for s in discover(tmp_path) if s.rel == name)


def test_running_header_and_page_numbers_dropped_hyphens_joined(tmp_path: Path) -> None:
    data = _pdf(BODY, header="River Valley Survey - Edition 2", footer=True)
    doc = load(_source(tmp_path, "survey.pdf", data))
    assert "River Valley Survey" not in doc.text
    assert "remarkable creativity and care" in doc.text and "cre-" not in doc.text
    for page in doc.pages:  # no page keeps its number line
        assert not doc.text[page.char_start : page.char_end].strip().endswith(str(page.number))
    chunks = chunk(doc, size=15, overlap=0)
    assert any("1890" in c.text and c.page_start == 3 for c in chunks)
    assert any("museums" in c.text and c.page_end == 5 for c in chunks)
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text


def test_short_documents_and_body_text_are_left_alone(tmp_path: Path) -> None:
    two = load(_source(tmp_path, "two.pdf", _pdf(BODY[:2], header="River Valley Survey", footer=True)))
    assert two.text.count("River Valley Survey") == 2, "two pages are too few to call a line a running header"
    same_start = [["Chapter text " + str(i)] + lines for i, lines in enumerate(BODY)]
    doc = load(_source(tmp_path, "body.pdf", _pdf(same_start, header=None, footer=False)))
    assert "river runs north" in doc.text and "Today the valley" in doc.text


def test_stopped_at_max_pages_is_a_warning_or_reason(tmp_path: Path) -> None:
    pages = [[], [], *BODY]
    src = _source(tmp_path, "late.pdf", _pdf(pages, header=None, footer=False))
    report, _ = extract(src, ExtractParams(max_pages=2))
    assert report.status == "skipped"
    assert report.reason == "no extractable text in the first 2 pages; stopped at page 2 of 7 (max_pages)"
    report, chunks = extract(src, ExtractParams(max_pages=4))
    assert report.status == "ok" and any(w.startswith("stopped at page 4:") for w in report.warnings)
    assert chunks and not any("1890" in c.text for c in chunks)


def test_cjk_text_through_pdfium(tmp_path: Path) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setFont("STSong-Light", 14)
    c.drawString(72, 740, "河流在春天向北流动。渡船每天过河两次。")
    c.showPage()
    c.save()
    doc = load(_source(tmp_path, "zh.pdf", out.getvalue()))
    assert "渡船每天过河两次" in doc.text and not doc.warnings


_LINES = st.lists(st.text(alphabet="abc -\n1", max_size=30), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(_LINES.map("\n".join), min_size=1, max_size=8))
def test_clean_offsets_map_back_to_raw_page_text(pages: list[str]) -> None:
    for raw, page in zip(pages, clean_pages(pages), strict=False):
        for offset, ch in enumerate(page.text):
            assert raw[page.raw_offset(offset)] == ch
