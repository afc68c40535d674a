"""Loaders: one file -> Document, chosen by `SourceFile.kind`."""
from __future__ import annotations

import hashlib

from ingest.discover import SourceFile
from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders.html import html_document_parts
from ingest.loaders.markdown import headings, sections_from_headings
from ingest.loaders.pdf import load_pdf
from ingest.loaders.text import decode_text
from ingest.safe_open import read_inside

DEFAULT_MAX_PAGES = 5000

__all__ = ["DEFAULT_MAX_PAGES", "load"]


def load(src: SourceFile, *, pdf_password: str | None = None, max_pages: int = DEFAULT_MAX_PAGES) -> Document:
    """Read and extract one file.

    Args:
        src: from `discover`.
        pdf_password: tried after the empty password on encrypted PDFs.
        max_pages: PDF pages past this are not read (a warning says so).

    Raises:
        IngestError: the file is to be skipped; `.reason` says why ("encrypted (give --pdf-password)",
            "no extractable text (scanned? needs OCR)", "binary file", "malformed PDF: ...", ...).
    """
    if src.skip_reason:
        raise IngestError(src.source, src.skip_reason)
    data = read_inside(src.path, src.root, src.source)  # still a regular file inside the root, read without blocking
    sha = hashlib.sha256(data).hexdigest()
    if src.kind == "pdf":
        return load_pdf(data, src.source, sha, password=pdf_password, max_pages=max_pages)
    text, warnings = decode_text(data, src.source)
    if src.kind == "markdown":
        sections, title = sections_from_headings(headings(text), len(text))
        return Document(src.source, "markdown", text, sha, title=title, sections=sections, warnings=warnings)
    if src.kind == "html":
        body, title, sections = html_document_parts(text)
        return Document(src.source, "html", body, sha, title=title, sections=sections, warnings=warnings)
    if src.kind == "text":
        return Document(src.source, "text", text, sha, warnings=warnings)
    raise ValueError(f"unknown kind {src.kind!r}")
