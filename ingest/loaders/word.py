""".docx: paragraphs in order, headings (Title, Heading 1-9) as sections, tables as text rows (python-docx)."""

from __future__ import annotations

import io
import re

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders._builder import TextBuilder
from ingest.loaders._zip import check_zip

_HEADING = re.compile(r"^(?:heading|überschrift|titre|titolo|título)\s*(\d)$", re.IGNORECASE)
CELL_SEPARATOR = " | "


def _level(style_name: str) -> int | None:
    """Heading level of a paragraph style (Title -> 1, Heading 2 -> 3, ...), None for body text."""
    name = style_name.strip()
    if name.lower() == "title":
        return 1
    match = _HEADING.match(name)
    return int(match.group(1)) + 1 if match else None


def load_docx(data: bytes, source: str, sha256: str) -> Document:
    """Text of a Word document. Raises IngestError for a broken or hostile file."""
    check_zip(data, source, "DOCX")
    import docx
    from docx.table import Table

    try:
        doc = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise IngestError(source, f"malformed DOCX: {exc or type(exc).__name__}") from exc
    out = TextBuilder()
    for block in doc.iter_inner_content():
        if isinstance(block, Table):
            for row in _rows(block):
                out.paragraph(row)
            continue
        style = block.style.name if block.style is not None else ""
        level = _level(style or "")
        if level is not None:
            out.heading(level, block.text)
        else:
            out.paragraph(block.text)
    title = (doc.core_properties.title or "").strip() or None
    return out.document(source, "docx", sha256, title=title)


def _rows(table) -> list[str]:
    """One line per table row, cells joined by " | " (merged cells repeated once)."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(CELL_SEPARATOR.join(cells))
    return rows
