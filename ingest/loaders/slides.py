""".pptx: one page per slide (title as its section, text frames, tables, speaker notes), with python-pptx."""

from __future__ import annotations

import io

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders._builder import TextBuilder
from ingest.loaders._zip import check_zip
from ingest.loaders.word import CELL_SEPARATOR

NOTES_PREFIX = "Notes: "


def load_pptx(data: bytes, source: str, sha256: str) -> Document:
    """Text of a presentation; slide N is page N. Raises IngestError for a broken or hostile file."""
    check_zip(data, source, "PPTX")
    import pptx

    try:
        deck = pptx.Presentation(io.BytesIO(data))
    except Exception as exc:
        raise IngestError(source, f"malformed PPTX: {exc or type(exc).__name__}") from exc
    out = TextBuilder()
    for number, slide in enumerate(deck.slides, start=1):
        out.start_page(number)
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text if title_shape is not None and title_shape.has_text_frame else ""
        out.heading(1, title or f"Slide {number}")
        for shape in slide.shapes:
            if shape is title_shape:
                continue
            for text in _shape_texts(shape):
                out.paragraph(text)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                out.paragraph(NOTES_PREFIX + notes.text)
    title = (deck.core_properties.title or "").strip() or None
    return out.document(source, "pptx", sha256, title=title)


def _shape_texts(shape) -> list[str]:
    if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        return [shape.text_frame.text]
    if getattr(shape, "has_table", False) and shape.has_table:
        rows = []
        for row in shape.table.rows:
            cells = [" ".join(c.text.split()) for c in row.cells]
            if any(cells):
                rows.append(CELL_SEPARATOR.join(c for c in cells if c))
        return rows
    if shape.shape_type is not None and hasattr(shape, "shapes"):  # a group
        return [t for inner in shape.shapes for t in _shape_texts(inner)]
    return []
