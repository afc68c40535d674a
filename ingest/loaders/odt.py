""".odt (OpenDocument text): headings as sections, paragraphs and list items in order, tables as text rows (odfdo)."""

from __future__ import annotations

import io

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders._builder import TextBuilder
from ingest.loaders._zip import check_zip
from ingest.loaders.word import CELL_SEPARATOR

MIMETYPE = "application/vnd.oasis.opendocument.text"
_SKIPPED = frozenset({"text:tracked-changes", "office:annotation", "text:sequence-decls", "office:forms"})
"""Not document text: deleted revisions, comments, declarations, form controls."""
_CELLS = frozenset({"table:table-cell", "table:covered-table-cell"})


def load_odt(data: bytes, source: str, sha256: str) -> Document:
    """Text of an OpenDocument text file. Raises IngestError for a broken or hostile file."""
    archive = check_zip(data, source, "ODT")
    try:
        mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
    except (KeyError, OSError, ValueError) as exc:
        raise IngestError(source, "malformed ODT: no mimetype member") from exc
    if mimetype != MIMETYPE:
        raise IngestError(source, f"not an OpenDocument text file (mimetype {mimetype[:80]!r})")
    import odfdo  # type: ignore[import-untyped]

    try:
        doc = odfdo.Document(io.BytesIO(data))
        body = doc.body
    except Exception as exc:
        raise IngestError(source, f"malformed ODT: {exc or type(exc).__name__}") from exc
    out = TextBuilder()
    stack = list(reversed(body.children))  # depth first, in document order, without recursion (nesting is hostile)
    while stack:
        el = stack.pop()
        tag = el.tag
        if tag == "text:h":
            out.heading(_level(el), el.text_recursive)
        elif tag == "text:p":
            out.paragraph(el.text_recursive)
        elif tag == "table:table":
            for row in _rows(el):
                out.paragraph(row)
        elif tag not in _SKIPPED:
            stack.extend(reversed(el.children))  # sections, lists, list items, frames, text boxes, ...
    title = _title(doc)
    return out.document(source, "odt", sha256, title=title)


def _level(heading) -> int:
    try:
        return max(1, int(heading.get_attribute("text:outline-level") or 1))
    except (TypeError, ValueError):
        return 1


def _rows(table) -> list[str]:
    """One line per row, cells joined by " | "; repeated rows and cells are read once (the repeat count is not
    expanded: a hostile file may repeat a cell a billion times)."""
    rows: list[str] = []
    stack = list(reversed(table.children))
    while stack:
        el = stack.pop()
        if el.tag == "table:table-row":
            cells: list[str] = []
            for cell in el.children:
                text = " ".join(cell.text_recursive.split()) if cell.tag in _CELLS else ""
                if text and (not cells or cells[-1] != text):
                    cells.append(text)
            if cells:
                rows.append(CELL_SEPARATOR.join(cells))
        elif el.tag in ("table:table-header-rows", "table:table-rows", "table:table-row-group"):
            stack.extend(reversed(el.children))
    return rows


def _title(doc) -> str | None:
    try:
        title = doc.meta.get_title()
    except Exception:
        return None
    return str(title).strip() or None if title else None
