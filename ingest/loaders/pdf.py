"""PDF: text per page with PDFium (pypdfium2), pypdf for passwords and as fallback, garbage detection, cleaning, OCR."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import time
from collections.abc import Callable, Iterator

from ingest import quality, textclean
from ingest.document import Document, Page
from ingest.errors import IngestError

ENCRYPTED_REASON = "encrypted (give --pdf-password)"
WRONG_PASSWORD_REASON = "encrypted, and the password given does not open it"
NEEDS_CRYPTOGRAPHY_REASON = "encrypted with AES: install the `cryptography` package to open it"
NO_TEXT_REASON = "no extractable text (scanned? needs OCR)"
"""With the [ocr] extra installed: OCR found no text either."""
NO_TEXT_NO_OCR_REASON = "no extractable text (scanned? needs OCR): no text layer: install ollama-rag[ocr]"
PAGE_SEPARATOR = "\n\n"
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n?")
_DROPPED = (quality.GARBLED_CHARS, quality.MOJIBAKE)


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning per oddity (thousands on some files); our report says what matters."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


OnPage = Callable[[str, int, int, int], None]
"""`(stage, done, total, scans)`: called after each page of a stage ("text": text layer read, "ocr": page OCR'd);
`scans` is how many pages need OCR (so far in the "text" stage, all of them in the "ocr" stage)."""


def _no_progress(stage: str, done: int, total: int, scans: int) -> None:
    pass


_SOFT_HYPHEN_BEFORE = re.compile("\ufffe([ \t]*\n?[ \t]*)(.?)")


def _soft_hyphen(match: re.Match[str]) -> str:
    """PDFium's U+FFFE before a lowercase letter is a line-end hyphen (textclean joins it); else a real hyphen."""
    return match.group(0) if match.group(2).islower() else "-" + match.group(1) + match.group(2)


def _clean(text: str) -> str:
    text = _CONTROLS.sub(" ", _NEWLINES.sub("\n", text)).strip()
    return _SOFT_HYPHEN_BEFORE.sub(_soft_hyphen, text) if "\ufffe" in text else text


def _page_list(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> "1-3, 7"."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def _open(data: bytes, source: str, password: str | None):
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise IngestError(source, f"malformed PDF: {exc or type(exc).__name__}") from exc
    used = None
    if reader.is_encrypted:
        try:
            if reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                if not password:
                    raise IngestError(source, ENCRYPTED_REASON)
                if reader.decrypt(password) == PasswordType.NOT_DECRYPTED:
                    raise IngestError(source, WRONG_PASSWORD_REASON)
                used = password
        except DependencyError as exc:
            raise IngestError(source, NEEDS_CRYPTOGRAPHY_REASON) from exc
        except IngestError:
            raise
        except Exception as exc:
            raise IngestError(source, f"malformed PDF: cannot decrypt ({exc or type(exc).__name__})") from exc
    return reader, used


def load_pdf(
    data: bytes,
    source: str,
    sha256: str,
    *,
    password: str | None,
    max_pages: int,
    ocr: bool = True,
    on_page: OnPage | None = None,
) -> Document:
    """The text of a PDF, pages from 1 joined by a blank line. Raises IngestError for a file to skip.

    PDFium reads the text (fast, and right on CJK fonts pypdf garbles); pypdf classifies encryption and password
    problems, reads pages PDFium gets wrong, and reads the whole file when PDFium cannot open it. Running
    headers/footers and line-end hyphens are cleaned (`ingest.textclean`). Pages without a text layer are OCR'd
    when the [ocr] extra is installed and `ocr` is true. `on_page` hears each page done (see `OnPage`).
    """
    with _quiet_pypdf():
        extraction: _Pdfium | _Pypdf | None = _Pdfium.open(data, source, password)
        if extraction is None:
            extraction = _Pypdf(*_open(data, source, password))
        try:
            return _document(extraction, source, sha256, max_pages, ocr, on_page or _no_progress)
        finally:
            extraction.close()


class _Pypdf:
    """Page text through pypdf: the fallback extractor."""

    name = "pypdf"

    def __init__(self, reader, used_password: str | None) -> None:
        self.reader, self.password = reader, used_password

    def count(self) -> int:
        return len(self.reader.pages)

    def page_text(self, index: int) -> str:
        return self.reader.pages[index].extract_text() or ""

    def title(self) -> str | None:
        return _title(self.reader)

    def render(self, index: int):
        return None

    def close(self) -> None:
        pass


class _Pdfium:
    """Page text through PDFium (pypdfium2), with pypdf opened on demand for pages PDFium gets wrong."""

    name = "pypdfium2"

    def __init__(self, doc, data: bytes, password: str | None) -> None:
        self.doc, self.data, self.password = doc, data, password
        self.alt: _Pypdf | None = None
        self.alt_failed = False

    @classmethod
    def open(cls, data: bytes, source: str, password: str | None) -> _Pdfium | None:
        """PDFium's view of the file; None when only pypdf may read it. Raises IngestError for encryption."""
        import pypdfium2  # type: ignore[import-untyped]

        try:
            doc = pypdfium2.PdfDocument(data, password=password)
        except pypdfium2.PdfiumError as exc:
            if exc.err_code == pypdfium2.raw.FPDF_ERR_PASSWORD:
                _open(data, source, password)  # says which password problem it is; if it opens, pypdf reads it
            return None
        if len(doc) == 0:
            doc.close()
            return None
        return cls(doc, data, password)

    def count(self) -> int:
        return len(self.doc)

    def page_text(self, index: int) -> str:
        page = self.doc[index]
        try:
            textpage = page.get_textpage()
            try:
                return textpage.get_text_range()
            finally:
                textpage.close()
        finally:
            page.close()

    def fallback_text(self, index: int) -> str | None:
        """pypdf's text of one page, or None when pypdf cannot read it."""
        if self.alt_failed:
            return None
        try:
            if self.alt is None:
                self.alt = _Pypdf(*_open(self.data, "", self.password))
            return self.alt.page_text(index)
        except Exception:
            self.alt_failed = True
            return None

    def title(self) -> str | None:
        try:
            title = self.doc.get_metadata_dict().get("Title", "")
        except Exception:
            return None
        return title.strip() or None

    def has_image(self, index: int) -> bool:
        """Does the page draw an image (a scan, a photo)? Blank pages are not worth an OCR pass."""
        import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]

        page = self.doc[index]
        try:
            return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3))
        except Exception:
            return False
        finally:
            page.close()

    def render(self, index: int):
        """The page as a PIL image at OCR resolution, at most `ocr.MAX_SIDE_PX` a side (None when rendering fails)."""
        from ingest.loaders.ocr import MAX_SIDE_PX

        page = self.doc[index]
        try:
            scale = min(OCR_DPI / 72, MAX_SIDE_PX / max(*page.get_size(), 1.0))
            return page.render(scale=scale).to_pil()
        except Exception:
            return None
        finally:
            page.close()

    def close(self) -> None:
        self.doc.close()


OCR_DPI = 150
"""Render resolution for OCR: 150 dpi read more words than 200 on the shared scans, in 15% less memory."""
OCR_BUDGET_S = 20.0
"""OCR time per file; pages past it are left out with a warning (the per-file limit would lose the whole file)."""


def _document(  # noqa: PLR0912
    ex: _Pdfium | _Pypdf, source: str, sha256: str, max_pages: int, ocr: bool, on_page: OnPage
) -> Document:
    try:
        count = ex.count()
    except Exception as exc:
        raise IngestError(source, f"malformed PDF: {exc or type(exc).__name__}") from exc
    warnings: list[str] = []
    read = min(count, max_pages)
    if count > max_pages:
        warnings.append(f"stopped at page {max_pages}: only the first {max_pages} of {count} pages read (max_pages)")
    texts, flagged, failed, scans = _extract_pages(ex, read, on_page, find_scans=ocr and _can_ocr(ex))
    ocred, ocr_stopped = _ocr_pages(ex, texts, scans, on_page)
    for reason, numbers in flagged.items():
        verdict = "left out" if reason in _DROPPED else "kept"
        if reason == "fallback":
            warnings.append(f"pages {_page_list(numbers)}: PDFium text unusable, read with pypdf instead")
        else:
            warnings.append(f"pages {_page_list(numbers)}: {reason}; {verdict}")
    if failed:
        warnings.append(f"pages {_page_list(failed)}: text extraction failed; left out")
    if ocred:
        warnings.append(f"pages {_page_list(ocred)}: OCR (no text layer)")
    if ocr_stopped is not None:
        warnings.append(f"OCR stopped at page {ocr_stopped} after {OCR_BUDGET_S:g} s; later scanned pages left out")
    cleaned = textclean.clean_pages(texts)
    pages: list[Page] = []
    parts: list[str] = []
    pos = 0
    ocr_pages = set(ocred)
    for number, page in enumerate(cleaned, start=1):
        text = page.text
        if text:
            if parts:
                parts.append(PAGE_SEPARATOR)
                pos += len(PAGE_SEPARATOR)
            parts.append(text)
            pages.append(Page(number, pos, pos + len(text), ocr=number in ocr_pages))
            pos += len(text)
        else:
            pages.append(Page(number, pos, pos))
    if not parts:
        dropped = [r for r in _DROPPED if r in flagged]
        reason = f"{dropped[0]} on every page with text" if dropped else _no_text_reason()
        if failed and not dropped:  # e.g. a decompression bomb stopped by pypdf's limits: not a scan
            reason = f"text extraction failed (pages {_page_list(failed)})"
        if count > max_pages:
            reason = (
                f"no extractable text in the first {max_pages} pages; stopped at page {max_pages} of {count} "
                f"(max_pages)"
            )
        raise IngestError(source, reason)
    return Document(
        source=source,
        kind="pdf",
        text="".join(parts),
        sha256=sha256,
        title=ex.title(),
        pages=tuple(pages),
        warnings=tuple(warnings),
    )


def _no_text_reason() -> str:
    from ingest.loaders import ocr

    return NO_TEXT_REASON if ocr.available() else NO_TEXT_NO_OCR_REASON


def _can_ocr(ex: _Pdfium | _Pypdf) -> bool:
    from ingest.loaders import ocr

    return isinstance(ex, _Pdfium) and ocr.available()


def _ocr_pages(
    ex: _Pdfium | _Pypdf, texts: list[str], scans: list[int], on_page: OnPage
) -> tuple[list[int], int | None]:
    """OCR in place the pages at indexes `scans`, within `OCR_BUDGET_S`, one rendered page alive at a time; the
    numbers of the pages OCR'd, and the page where the budget ran out (or None)."""
    if not scans or not isinstance(ex, _Pdfium):
        return [], None
    from ingest.loaders import ocr

    deadline = time.monotonic() + OCR_BUDGET_S
    done: list[int] = []
    for n, index in enumerate(scans, start=1):
        if time.monotonic() > deadline:
            return done, index + 1
        image = ex.render(index)
        text = _clean(ocr.image_text(image)) if image is not None else ""
        del image
        if text:
            texts[index] = text
            done.append(index + 1)
        on_page("ocr", n, len(scans), len(scans))
    return done, None


def _extract_pages(
    ex: _Pdfium | _Pypdf, count: int, on_page: OnPage, *, find_scans: bool
) -> tuple[list[str], dict[str, list[int]], list[int], list[int]]:
    """Usable text per page, page numbers by quality problem (or "fallback"), pages whose extraction failed, and
    (with `find_scans`) the indexes of pages to OCR: no text, not left out as garbled, and an image drawn."""
    texts: list[str] = []
    flagged: dict[str, list[int]] = {}
    failed: list[int] = []
    scans: list[int] = []
    for index in range(count):
        try:
            raw = ex.page_text(index)
        except Exception:
            raw = None
        alt_tried = False
        if raw is None and isinstance(ex, _Pdfium):
            raw, alt_tried = ex.fallback_text(index), True
        problem = None
        if raw is None:
            failed.append(index + 1)
            text = ""
        else:
            problem = quality.assess(raw.replace(textclean.SOFT_HYPHEN_MARK, ""))
            text = _clean(raw)
            if problem is not None:
                alt = ex.fallback_text(index) if isinstance(ex, _Pdfium) and not alt_tried else None
                if alt and quality.assess(alt) is None:
                    problem, text = "fallback", _clean(alt)
                elif problem in _DROPPED:
                    text = ""
                flagged.setdefault(problem, []).append(index + 1)
        texts.append(text)
        blank = not text.strip() and problem not in _DROPPED
        if find_scans and blank and isinstance(ex, _Pdfium) and ex.has_image(index):
            scans.append(index)
        on_page("text", index + 1, count, len(scans))
    return texts, flagged, failed, scans


def _title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    return str(title).strip() or None if title else None
