"""PDF loading and the worker pipeline, on PDFs each test writes itself with pypdf."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    NameObject,
    NumberObject,
)

from ingest import ExtractParams, IngestError, chunk, discover, extract, extract_many, load

# Glyph names from five unrelated scripts: text set in this font extracts as mixed-script mojibake.
_MOJIBAKE_GLYPHS = ["/uni1100", "/uni03BD", "/uni120D", "/uni0E01", "/uni0531", "/uni05D0", "/uni0985"]


def _font(garbled: bool) -> DictionaryObject:
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    if garbled:
        diffs = ArrayObject([NumberObject(97), *(NameObject(_MOJIBAKE_GLYPHS[i % 7]) for i in range(26))])
        font[NameObject("/Encoding")] = DictionaryObject({NameObject("/Differences"): diffs})
    else:
        font[NameObject("/Encoding")] = NameObject("/WinAnsiEncoding")
    return font


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(
    pages: list[str],
    *,
    garbled: frozenset[int] = frozenset(),
    password: str | None = None,
    raw_streams: dict[int, bytes] | None = None,
) -> bytes:
    """A PDF with one Helvetica text page per string (lines -> text lines). Pages in `garbled` (0-based) use a font
    whose encoding maps letters to glyphs of unrelated scripts; `raw_streams` gives pages Flate-compressed content."""
    writer = PdfWriter()
    fonts = {g: writer._add_object(_font(g)) for g in (False, True)}
    for index, text in enumerate(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): fonts[index in garbled]})}
        )
        if raw_streams and index in raw_streams:
            stream = EncodedStreamObject()
            stream[NameObject("/Filter")] = NameObject("/FlateDecode")
            stream._data = zlib.compress(raw_streams[index], 1)
        else:
            ops = " ".join(f"({_escape(line)}) Tj T*" for line in text.split("\n"))
            stream = DecodedStreamObject()
            stream.set_data(f"BT /F1 11 Tf 72 740 Td 14 TL {ops} ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password:
        writer.encrypt(user_password=password, owner_password="owner-" + password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PAGES = [
    "Chapter one. The river runs north in spring.\nFerries cross it twice a day.",
    "Chapter two. Mills line the eastern bank.\nThey grind wheat and barley.",
    "Chapter three. The bridge was finished in 1890.",
]


def _source(tmp_path: Path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    return next(s for s in discover(tmp_path) if s.rel == name)


def test_multipage_pdf_pages_and_spans(tmp_path: Path) -> None:
    doc = load(_source(tmp_path, "book.pdf", make_pdf(PAGES)))
    assert doc.kind == "pdf"
    assert [p.number for p in doc.pages] == [1, 2, 3]
    for page, words in zip(doc.pages, ["river runs north", "Mills line", "bridge was finished"], strict=False):
        assert words in doc.text[page.char_start : page.char_end]
    chunks = chunk(doc, size=12, overlap=0)
    assert len(chunks) > 3
    for c in chunks:
        assert doc.text[c.char_start : c.char_end] == c.text
        first = next(p for p in doc.pages if p.char_start <= c.char_start < p.char_end)
        assert c.page_start == first.number
        assert c.page_start <= c.page_end
    assert any("Ferries" in c.text and c.page_start == 1 for c in chunks)
    assert any("1890" in c.text and c.page_end == 3 for c in chunks)


def test_encrypted_pdf_needs_password(tmp_path: Path) -> None:
    src = _source(tmp_path, "locked.pdf", make_pdf(PAGES, password="s3cret"))
    with pytest.raises(IngestError) as err:
        load(src)
    assert err.value.reason == "encrypted (give --pdf-password)"
    report, chunks = extract(src, ExtractParams(pdf_password="wrong"))
    assert report.status == "skipped" and "password given does not open it" in report.reason and chunks == []
    report, chunks = extract(src, ExtractParams(pdf_passwords={src.source: "s3cret"}))
    assert report.status == "ok" and report.pages == 3
    assert any("Mills line" in c.text for c in chunks)


@pytest.mark.parametrize("cut", [40, 300, 0.6])
def test_truncated_pdf_is_skipped_with_reason(tmp_path: Path, cut) -> None:
    data = make_pdf(PAGES)
    size = int(len(data) * cut) if isinstance(cut, float) else cut
    src = _source(tmp_path, "cut.pdf", data[:size])
    report, chunks = extract(src)
    if report.status == "ok":  # pypdf's non-strict mode may recover the pages before the cut
        assert chunks and all(c.text.strip() for c in chunks)
    else:
        assert report.reason.startswith(("malformed PDF", "no extractable text")), report.reason


def test_header_only_pdf_is_malformed(tmp_path: Path) -> None:
    report, _ = extract(_source(tmp_path, "h.pdf", b"%PDF-1.4\n%%EOF\n"))
    assert report.status == "skipped" and report.reason.startswith("malformed PDF: ")


def test_pdf_without_text_says_ocr(tmp_path: Path) -> None:
    report, _ = extract(_source(tmp_path, "scan.pdf", make_pdf(["", ""])))
    assert report.reason.startswith("no extractable text (scanned? needs OCR)")
    from ingest.loaders import ocr

    if not ocr.available():
        assert report.reason.endswith("no text layer: install ollama-rag[ocr]")


def test_garbled_page_left_out_with_warning(tmp_path: Path) -> None:
    pages = [PAGES[0], "the quick brown fox jumps over the lazy dog again and again and again", PAGES[2]]
    doc = load(_source(tmp_path, "mixed.pdf", make_pdf(pages, garbled=frozenset({1}))))
    assert "quick" not in doc.text and "river" in doc.text and "bridge" in doc.text
    assert doc.pages[1].char_start == doc.pages[1].char_end
    assert any(w.startswith("pages 2:") and "mojibake" in w for w in doc.warnings), doc.warnings


def test_all_pages_garbled_is_skipped(tmp_path: Path) -> None:
    text = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod"
    report, _ = extract(_source(tmp_path, "bad.pdf", make_pdf([text, text], garbled=frozenset({0, 1}))))
    assert report.status == "skipped" and "mojibake" in report.reason


def test_max_pages_warns(tmp_path: Path) -> None:
    report, chunks = extract(_source(tmp_path, "long.pdf", make_pdf(PAGES)), ExtractParams(max_pages=2))
    assert report.status == "ok"
    assert any("first 2 of 3 pages" in w for w in report.warnings)
    assert not any("1890" in c.text for c in chunks)


def test_slow_file_times_out_and_run_goes_on(tmp_path: Path) -> None:
    heavy = b"BT /F1 9 Tf 10 10 Td (a) Tj ET\n" * 4_000_000  # legit but slow: ~7 s of PDFium on an idle core
    (tmp_path / "a_heavy.pdf").write_bytes(make_pdf(["x"], raw_streams={0: heavy}))
    (tmp_path / "b_fine.pdf").write_bytes(make_pdf(PAGES))
    (tmp_path / "c_note.txt").write_text("A small note that is extracted in-process.", encoding="utf-8")
    files = list(discover(tmp_path))
    out = list(extract_many(files, ExtractParams(timeout_s=1.0), workers=2))
    assert [s.rel for s, _, _ in out] == ["a_heavy.pdf", "b_fine.pdf", "c_note.txt"]
    reports = {s.rel: r for s, r, _ in out}
    assert reports["a_heavy.pdf"].status == "skipped"
    assert reports["a_heavy.pdf"].reason == "timed out after 1 s"
    assert reports["b_fine.pdf"].status == "ok" and reports["b_fine.pdf"].pages == 3
    assert reports["c_note.txt"].status == "ok"


def test_extract_many_matches_in_process(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"doc{i}.pdf").write_bytes(make_pdf([f"Document number {i}. " + PAGES[i]]))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    files = list(discover(tmp_path))
    pooled = [(s.rel, r, [c.id for c in cs]) for s, r, cs in extract_many(files, workers=2)]
    local = [(s.rel, r, [c.id for c in cs]) for s, r, cs in extract_many(files, workers=0)]
    assert pooled == local
    assert [rel for rel, _, _ in pooled] == ["broken.pdf", "doc0.pdf", "doc1.pdf", "doc2.pdf"]
    assert pooled[0][1].status == "skipped"
