"""PDF: text per page with pypdf (non-strict), passwords, garbage detection, optional pypdfium2 fallback per page."""
from __future__ import annotations

import contextlib
import io
import logging
import re
from collections.abc import Iterator

from ingest import quality
from ingest.document import Document, Page
from ingest.errors import IngestError

ENCRYPTED_REASON = "encrypted (give --pdf-password)"
WRONG_PASSWORD_REASON = "encrypted, and the password given does not open it"
NEEDS_CRYPTOGRAPHY_REASON = "encrypted with AES: install the `cryptography` package to open it"
NO_TEXT_REASON = "no extractable text (scanned? needs OCR)"
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


def _clean(text: str) -> str:
    return _CONTROLS.sub(" ", _NEWLINES.sub("\n", text)).strip()


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


class _Fallback:
    """pypdfium2 text for single pages, opened on first use; absent when the [pdf] extra is not installed."""

    def __init__(self, data: bytes, password: str | None) -> None:
        self.data, self.password = data, password
        self.doc = None
        self.failed = False

    def page_text(self, index: int) -> str | None:
        if self.failed:
            return None
        try:
            if self.doc is None:
                import pypdfium2

                self.doc = pypdfium2.PdfDocument(self.data, password=self.password)
            page = self.doc[index]
            return _clean(page.get_textpage().get_text_bounded())
        except Exception:  # ImportError, or pdfium cannot read what pypdf could
            self.failed = True
            return None

    def close(self) -> None:
        if self.doc is not None:
            self.doc.close()


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


def load_pdf(data: bytes, source: str, sha256: str, *, password: str | None, max_pages: int) -> Document:
    """The text of a PDF, pages from 1 joined by a blank line. Raises IngestError for a file to skip."""
    with _quiet_pypdf():
        reader, used = _open(data, source, password)
        try:
            count = len(reader.pages)
        except Exception as exc:
            raise IngestError(source, f"malformed PDF: {exc or type(exc).__name__}") from exc
        warnings: list[str] = []
        if count > max_pages:
            warnings.append(f"only the first {max_pages} of {count} pages read (max_pages)")
        fallback = _Fallback(data, used)
        try:
            texts, flagged, failed = _extract_pages(reader, min(count, max_pages), fallback)
        finally:
            fallback.close()
        title = _title(reader)
    for reason, numbers in flagged.items():
        verdict = "left out" if reason in _DROPPED else "kept"
        if reason == "fallback":
            warnings.append(f"pages {_page_list(numbers)}: pypdf text unusable, read with pypdfium2 instead")
        else:
            warnings.append(f"pages {_page_list(numbers)}: {reason}; {verdict}")
    if failed:
        warnings.append(f"pages {_page_list(failed)}: text extraction failed; left out")
    pages, parts, pos = [], [], 0
    for number, text in enumerate(texts, start=1):
        if text:
            if parts:
                parts.append(PAGE_SEPARATOR)
                pos += len(PAGE_SEPARATOR)
            parts.append(text)
            pages.append(Page(number, pos, pos + len(text)))
            pos += len(text)
        else:
            pages.append(Page(number, pos, pos))
    if not parts:
        dropped = [r for r in _DROPPED if r in flagged]
        reason = f"{dropped[0]} on every page with text" if dropped else NO_TEXT_REASON
        if failed and not dropped:  # e.g. a decompression bomb stopped by pypdf's limits: not a scan
            reason = f"text extraction failed (pages {_page_list(failed)})"
        raise IngestError(source, reason)
    return Document(
        source=source, kind="pdf", text="".join(parts), sha256=sha256, title=title, pages=tuple(pages),
        warnings=tuple(warnings),
    )


def _extract_pages(reader, count: int, fallback: _Fallback) -> tuple[list[str], dict[str, list[int]], list[int]]:
    """Usable text per page, page numbers by quality problem (or "fallback"), and pages whose extraction failed."""
    texts: list[str] = []
    flagged: dict[str, list[int]] = {}
    failed: list[int] = []
    for index in range(count):
        try:
            raw = reader.pages[index].extract_text() or ""
        except Exception:
            failed.append(index + 1)
            texts.append("")
            continue
        problem = quality.assess(raw)
        text = _clean(raw)
        if problem is not None:
            alt = fallback.page_text(index)
            if alt and quality.assess(alt) is None:
                problem, text = "fallback", alt
            elif problem in _DROPPED:
                text = ""
            flagged.setdefault(problem, []).append(index + 1)
        texts.append(text)
    return texts, flagged, failed


def _title(reader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    return str(title).strip() or None if title else None
