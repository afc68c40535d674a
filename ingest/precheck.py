"""Cheap checks that predict a skip without extracting (for `--dry-run`): file header, PDF encryption, ZIP guard."""

from __future__ import annotations

from ingest.discover import SourceFile
from ingest.errors import IngestError

_ZIP_KINDS = {"docx": "DOCX", "pptx": "PPTX", "xlsx": "XLSX", "epub": "EPUB", "odt": "ODT"}
_HEAD_BYTES = 1024
PAGE_WORK = 2500
"""Work units of one PDF page: about the text bytes a page holds (a unit is one byte of plain text)."""
OCR_PAGE_FACTOR = 20
"""OCR of one page costs about this many text pages (measured: BENCHMARKS.md, "Ingest", OCR pages/s)."""
_ZIPPED_TEXT_FACTOR = 4
"""A ZIP container holds about this many text bytes per file byte."""


def work(src: SourceFile) -> int:
    """Estimated cost of extracting and embedding `src`, in bytes of plain text: PDF pages (counted by PDFium,
    which parses no page) weigh `PAGE_WORK` each, containers their size times `_ZIPPED_TEXT_FACTOR`, text files
    their size. At least 1; never raises."""
    if src.skip_reason:
        return 1
    if src.kind == "pdf":
        try:
            import pypdfium2  # type: ignore[import-untyped]

            doc = pypdfium2.PdfDocument(str(src.path))
            try:
                return max(1, len(doc) * PAGE_WORK)
            finally:
                doc.close()
        except Exception:
            return max(1, src.size // 4)
    if src.kind in _ZIP_KINDS:
        return max(1, src.size * _ZIPPED_TEXT_FACTOR)
    if src.kind == "image":
        return PAGE_WORK * OCR_PAGE_FACTOR
    return max(1, src.size)


def precheck(src: SourceFile, *, pdf_password: str | None = None) -> str | None:
    """The reason `src` would be skipped, when a cheap look says so; None when it may well be indexed.

    Reads the file header; opens PDFs with PDFium (no page is parsed) to see encryption and damage; reads the
    directory of ZIP containers. Never raises.
    """
    if src.skip_reason:
        return src.skip_reason
    try:
        if src.kind == "pdf":
            return _pdf(src, pdf_password)
        if src.kind in _ZIP_KINDS:
            from ingest.loaders._zip import check_zip

            check_zip(src.path.read_bytes(), src.source, _ZIP_KINDS[src.kind])
    except IngestError as exc:
        return exc.reason
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return None


def _pdf(src: SourceFile, password: str | None) -> str | None:
    with open(src.path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if b"%PDF-" not in head:
        return "malformed PDF: no %PDF- header"
    import pypdfium2  # type: ignore[import-untyped]

    from ingest.loaders.pdf import _open

    data = src.path.read_bytes()
    try:
        pypdfium2.PdfDocument(data, password=password).close()
    except pypdfium2.PdfiumError as exc:
        if exc.err_code == pypdfium2.raw.FPDF_ERR_PASSWORD:
            _open(data, src.source, password)  # raises the reason the real run would give
            return None
        try:  # PDFium cannot open it: pypdf, the fallback, decides
            reader, _ = _open(data, src.source, password)
            if not len(reader.pages):
                return "malformed PDF: no pages"
        except IngestError as err:
            return err.reason
        except Exception as err:
            return f"malformed PDF: {err or type(err).__name__}"
    return None
