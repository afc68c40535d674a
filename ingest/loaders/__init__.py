"""Loaders: one file -> Document, chosen by `SourceFile.kind`."""

from __future__ import annotations

import hashlib

from ingest.discover import SourceFile
from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders.html import html_document_parts
from ingest.loaders.markdown import headings, sections_from_headings
from ingest.loaders.pdf import OnPage, load_pdf
from ingest.loaders.text import decode_text
from ingest.safe_open import read_inside

DEFAULT_MAX_PAGES = 5000
WORKER_KINDS = frozenset({"pdf", "docx", "pptx", "xlsx", "epub", "odt", "image"})
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
    if kind == "odt":
        from ingest.loaders.odt import load_odt

        return load_odt
    return None


def _load_image(ocr: bool, on_page: OnPage | None):
    """The image loader (OCR; `on_page` hears each frame), or one that says OCR is off."""

    def load_image(data: bytes, source: str, sha256: str) -> Document:
        if not ocr:
            raise IngestError(source, "image: OCR is turned off")
        from ingest.loaders import image

        return image.load_image(data, source, sha256, on_page)

    return load_image


def _missing_library(src: SourceFile, exc: ImportError) -> IngestError:
    extra = "ocr" if src.kind == "image" else "office"
    return IngestError(src.source, f"{src.kind} files need {exc.name or 'a library'}: install ollama-rag[{extra}]")


def load(
    src: SourceFile,
    *,
    pdf_password: str | None = None,
    max_pages: int = DEFAULT_MAX_PAGES,
    ocr: bool = True,
    on_page: OnPage | None = None,
) -> Document:
    """Read and extract one file.

    Args:
        src: from `discover`.
        pdf_password: tried after the empty password on encrypted PDFs.
        max_pages: PDF pages past this are not read (a warning says so).
        ocr: OCR scanned PDF pages and images when the [ocr] extra is installed.
        on_page: hears `(stage, done, total)` as PDF pages are read and OCR'd, and image frames OCR'd.

    Raises:
        IngestError: the file is to be skipped; `.reason` says why ("encrypted (give --pdf-password)",
            "no extractable text (scanned? needs OCR)", "binary file", "malformed PDF: ...", ...).
    """
    if src.skip_reason:
        raise IngestError(src.source, src.skip_reason)
    data = read_inside(src.path, src.root, src.source)  # still a regular file inside the root, read without blocking
    sha = hashlib.sha256(data).hexdigest()
    if src.kind == "pdf":
        return load_pdf(data, src.source, sha, password=pdf_password, max_pages=max_pages, ocr=ocr, on_page=on_page)
    loader = _load_image(ocr, on_page) if src.kind == "image" else _binary_loader(src.kind)
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
