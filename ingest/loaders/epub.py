""".epub: chapters in spine order, each as a section with its own headings (ebooklib + the HTML loader)."""

from __future__ import annotations

import io
import warnings

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders._builder import TextBuilder
from ingest.loaders._zip import check_zip
from ingest.loaders.html import parse_html


def load_epub(data: bytes, source: str, sha256: str) -> Document:
    """Text of an e-book. Raises IngestError for a broken, hostile or DRM-locked file."""
    check_zip(data, source, "EPUB")
    import ebooklib  # type: ignore[import-untyped]
    from ebooklib import epub  # type: ignore[import-untyped]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    except Exception as exc:
        raise IngestError(source, f"malformed EPUB: {exc or type(exc).__name__}") from exc
    out = TextBuilder()
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        markup = item.get_content().decode("utf-8", errors="replace")
        body, title, heads = parse_html(markup)
        chapter_level = 1
        if title and not (heads and heads[0][2] == title):
            out.heading(1, title)
            chapter_level = 2
        base = out.pos + (len("\n\n") if out.parts else 0)
        out.paragraph(body)
        lead = len(body) - len(body.lstrip())
        for pos, level, text in heads:
            out.heads.append((base + pos - lead, level + chapter_level - 1, text))
    titles = book.get_metadata("DC", "title")
    title = str(titles[0][0]).strip() if titles else None
    return out.document(source, "epub", sha256, title=title or None)
