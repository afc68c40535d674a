"""The .docx/.pptx/.xlsx/.csv/.epub loaders on files each test writes with the same libraries, and the zip guard."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from ingest import ExtractParams, chunk, discover, extract, extract_many, load
from ingest.discover import scan


def _source(tmp_path: Path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    return next(s for s in discover(tmp_path) if s.rel == name)


def _section_of(doc, needle: str) -> tuple[str, ...]:
    pos = doc.text.index(needle)
    return next(s.heading_path for s in doc.sections if s.char_start <= pos < s.char_end)


def test_docx_headings_become_sections_and_tables_rows(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    d = docx.Document()
    d.add_heading("Field guide", level=0)
    d.add_heading("Rivers", level=1)
    d.add_paragraph("The river runs north in spring.")
    d.add_heading("Ferries", level=2)
    d.add_paragraph("Ferries cross it twice a day.")
    table = d.add_table(rows=2, cols=2)
    for (r, c), text in {(0, 0): "Port", (0, 1): "Departures", (1, 0): "Lyon", (1, 1): "7"}.items():
        table.cell(r, c).text = text
    d.add_heading("Mills", level=1)
    d.add_paragraph("Mills line the eastern bank.")
    out = io.BytesIO()
    d.save(out)
    doc = load(_source(tmp_path, "guide.docx", out.getvalue()))
    assert doc.kind == "docx" and doc.title == "Field guide"
    assert _section_of(doc, "twice a day") == ("Field guide", "Rivers", "Ferries")
    assert _section_of(doc, "eastern bank") == ("Field guide", "Mills")
    assert "Port | Departures\n\nLyon | 7" in doc.text
    assert _section_of(doc, "Lyon | 7") == ("Field guide", "Rivers", "Ferries")
    chunks = chunk(doc, size=20, overlap=0)
    assert any("eastern bank" in c.text and c.heading_path == ("Field guide", "Mills") for c in chunks)


def test_pptx_slides_are_pages_with_notes(tmp_path: Path) -> None:
    pptx = pytest.importorskip("pptx")
    deck = pptx.Presentation()
    for title, body, notes in [
        ("Spring floods", "Water rises in April.", "Mention the 1890 flood."),
        ("Bridges", "The bridge was finished in 1890.", ""),
    ]:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    deck.save(out)
    src = _source(tmp_path, "talk.pptx", out.getvalue())
    doc = load(src)
    assert [p.number for p in doc.pages] == [1, 2]
    first = doc.text[doc.pages[0].char_start : doc.pages[0].char_end]
    assert "Water rises" in first and "Notes: Mention the 1890 flood." in first
    assert "bridge was finished" in doc.text[doc.pages[1].char_start : doc.pages[1].char_end]
    assert _section_of(doc, "bridge was finished") == ("Bridges",)
    report, chunks = extract(src, ExtractParams(chunk_tokens=12, chunk_overlap=0))
    assert report.status == "ok" and report.pages == 2
    assert any("bridge was finished" in c.text and c.page_start == 2 for c in chunks)


def test_xlsx_sheets_are_sections_rows_carry_headers(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Stations"
    for row in [("Station", "River", "Depth m"), ("Lyon", "Rhone", 4.5), ("Orleans", "Loire", 2)]:
        sheet.append(row)
    other = book.create_sheet("Notes")
    other.append(["Note"])
    other.append(["Depths measured in May."])
    out = io.BytesIO()
    book.save(out)
    doc = load(_source(tmp_path, "gauges.xlsx", out.getvalue()))
    assert "Station: Orleans; River: Loire; Depth m: 2" in doc.text
    assert "Station: Lyon; River: Rhone; Depth m: 4.5" in doc.text
    assert _section_of(doc, "Orleans") == ("Stations",)
    assert _section_of(doc, "measured in May") == ("Notes",)


def test_csv_rows_carry_headers(tmp_path: Path) -> None:
    data = "station;river;depth\nLyon;Rhône;4,5\nOrléans;Loire;2\n".encode()
    doc = load(_source(tmp_path, "gauges.csv", data))
    assert "station: Orléans; river: Loire; depth: 2" in doc.text
    assert _section_of(doc, "Orléans") == ("gauges.csv",)


def test_epub_chapters_are_sections(tmp_path: Path) -> None:
    epub = pytest.importorskip("ebooklib.epub")
    book = epub.EpubBook()
    book.set_identifier("river-book")
    book.set_title("The River")
    book.set_language("en")
    chapters = []
    for i, (title, text) in enumerate(
        [("Spring", "The river runs north in spring."), ("Mills", "Mills line the eastern bank.")], start=1
    ):
        ch = epub.EpubHtml(title=title, file_name=f"ch{i}.xhtml", lang="en")
        ch.content = f"<html><body><h1>{title}</h1><p>{text}</p></body></html>"
        book.add_item(ch)
        chapters.append(ch)
    book.toc = chapters
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = chapters
    path = tmp_path / "river.epub"
    epub.write_epub(str(path), book)
    doc = load(next(s for s in discover(tmp_path) if s.rel == "river.epub"))
    assert doc.title == "The River"
    assert _section_of(doc, "eastern bank")[-1] == "Mills"
    assert _section_of(doc, "runs north")[-1] == "Spring"


def _odt() -> bytes:
    odfdo = pytest.importorskip("odfdo")
    doc = odfdo.Document("text")
    body = doc.body
    body.clear()
    body.append(odfdo.Header(1, "Field guide"))
    body.append(odfdo.Paragraph("A short guide to the valley."))
    body.append(odfdo.Header(2, "Rivers"))
    section = odfdo.Section(name="S1")
    section.append(odfdo.Paragraph("The river runs north in spring."))
    body.append(section)
    body.append(odfdo.List(["Ferries cross twice daily", "Mills grind barley"]))
    body.append(odfdo.Header(2, "Timetable"))
    table = odfdo.Table("Times", width=2, height=2)
    for (col, row), value in {(0, 0): "Boat", (1, 0): "Leaves", (0, 1): "Morning ferry", (1, 1): "07:30"}.items():
        table.set_value((col, row), value)
    body.append(table)
    doc.meta.set_title("The valley")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_odt_headings_become_sections_lists_and_tables_rows(tmp_path: Path) -> None:
    src = _source(tmp_path, "guide.odt", _odt())
    assert src.kind == "odt"
    doc = load(src)
    assert doc.kind == "odt" and doc.title == "The valley"
    assert _section_of(doc, "runs north") == ("Field guide", "Rivers")
    assert _section_of(doc, "Mills grind barley") == ("Field guide", "Rivers")
    assert "Boat | Leaves\n\nMorning ferry | 07:30" in doc.text
    assert _section_of(doc, "Morning ferry") == ("Field guide", "Timetable")
    report, chunks = extract(src, ExtractParams(chunk_tokens=40, chunk_overlap=0))
    assert report.status == "ok" and any("Morning ferry | 07:30" in c.text for c in chunks)


def test_odt_with_another_mimetype_is_refused(tmp_path: Path) -> None:
    data = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
    report, _ = extract(_source(tmp_path, "sheet.odt", data))
    assert report.status == "skipped" and report.reason.startswith("not an OpenDocument text file"), report.reason


def test_other_opendocument_types_are_ignored_by_name(tmp_path: Path) -> None:
    for name in ("sheet.ods", "deck.odp"):
        (tmp_path / name).write_bytes(_zip({"mimetype": b"application/vnd.oasis.opendocument"}))
    ignored = dict(scan(tmp_path).ignored)
    root = tmp_path.name
    assert ignored == {f"{root}/deck.odp": "unsupported type .odp", f"{root}/sheet.ods": "unsupported type .ods"}


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize("name", ["bomb.docx", "bomb.xlsx", "bomb.pptx", "bomb.epub", "bomb.odt"])
def test_zip_bomb_is_refused_by_ratio(tmp_path: Path, name: str) -> None:
    data = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (8 << 20)})
    assert len(data) < 100_000
    report, chunks = extract(_source(tmp_path, name, data))
    assert report.status == "skipped" and chunks == []
    assert report.reason.startswith("refused: ") and "zip bomb" in report.reason, report.reason


def test_broken_container_is_skipped_with_reason(tmp_path: Path) -> None:
    (tmp_path / "a.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "b.pptx").write_bytes(_zip({"hello.txt": b"no presentation here"}))
    out = {s.rel: r for s, r, _ in extract_many(list(discover(tmp_path)), workers=1)}
    assert out["a.docx"].status == "skipped" and out["a.docx"].reason.startswith("malformed DOCX")
    assert out["b.pptx"].status == "skipped" and out["b.pptx"].reason.startswith("malformed PPTX")
