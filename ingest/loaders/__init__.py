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
WORKER_KINDS = frozenset({"pdf", "docx", "pptx", "xlsx", "epub", "image"})
"""Kinds parsed by a library over a possibly hostile container: always run under the worker time limit."""

__all__ = ["DEFAULT_MAX_PAGES", "WORKER_KINDS", "load"]


def _binary_loader(kind: str):
    """The loader of a container format (imported on first use: each pulls in its library)."""
    if kind == "docx":
        from ingest.loaders.word import load_docx

        return load_docx
    if kind == "pptx":
        from ingest.loaders.slides import load_pptx

        return load_pptx
    if kind == "xlsx":
        from ingest.loaders.sheets import load_xlsx

        return load_xlsx
    if kind == "epub":
        from ingest.loaders.epub import load_epub

        return load_epub
    if kind == "image":
        from ingest.loaders.image import load_image

        return load_image
    return None


def _missing_library(src: SourceFile, exc: ImportError) -> IngestError:
    return IngestError(src.source, f"{src.kind} files need {exc.name or 'a library'}: install ollama-rag[office]")


def load(
    src: SourceFile, *, pdf_password: str | None = None, max_pages: int = DEFAULT_MAX_PAGES, ocr: bool = True
) -> Document:
    """Read and extract one file.

    Args:
        src: from `discover`.
        pdf_password: tried after the empty password on encrypted PDFs.
        max_pages: PDF pages past this are not read (a warning says so).
        ocr: OCR scanned PDF pages and images when the [ocr] extra is installed.

    Raises:
        IngestError: the file is to be skipped; `.reason` says why ("encrypted (give --pdf-password)",
            "no extractable text (scanned? needs OCR)", "binary file", "malformed PDF: ...", ...).
    """
    if src.skip_reason:
        raise IngestError(src.source, src.skip_reason)
    data = read_inside(src.path, src.root, src.source)  # still a regular file inside the root, read without blocking
    sha = hashlib.sha256(data).hexdigest()
    if src.kind == "pdf":
        return load_pdf(data, src.source, sha, password=pdf_password, max_pages=max_pages, ocr=ocr)
    if src.kind == "image" and not ocr:
        raise IngestError(src.source, "image: OCR is turned off")
    loader = _binary_loader(src.kind)
    if loader is not None:
        try:
            return loader(data, src.source, sha)
        except ImportError as exc:
            raise _missing_library(src, exc) from exc
    if src.kind == "csv":
        from ingest.loaders.sheets import load_csv

        return load_csv(data, src.source, sha)
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
