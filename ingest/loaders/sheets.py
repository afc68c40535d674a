""".xlsx and .csv: one section per sheet, each row as "Header: value; ..." (openpyxl, stdlib csv)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders._builder import TextBuilder
from ingest.loaders._zip import check_zip
from ingest.loaders.text import decode_bytes

MAX_CELLS = 2_000_000
"""Cells read per file; the rest is left out with a warning."""
FIELD_SEPARATOR = "; "


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def _add_table(out: TextBuilder, name: str, rows: Iterable[Sequence[object]], budget: list[int]) -> bool:
    """Rows under a section named `name`; the first non-empty row gives the field names. False when cut short."""
    out.heading(1, name)
    header: list[str] | None = None
    for row in rows:
        budget[0] -= len(row)
        if budget[0] < 0:
            return False
        cells = [_cell(v) for v in row]
        if not any(cells):
            continue
        if header is None:
            header = cells
            out.paragraph(FIELD_SEPARATOR.join(c for c in cells if c))
            continue
        fields = []
        for i, value in enumerate(cells):
            if value:
                name_i = header[i] if i < len(header) and header[i] else f"column {i + 1}"
                fields.append(f"{name_i}: {value}")
        out.paragraph(FIELD_SEPARATOR.join(fields))
    return True


def load_xlsx(data: bytes, source: str, sha256: str) -> Document:
    """Text of a workbook (cached values, not formulas). Raises IngestError for a broken or hostile file."""
    check_zip(data, source, "XLSX")
    import openpyxl  # type: ignore[import-untyped]

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise IngestError(source, f"malformed XLSX: {exc or type(exc).__name__}") from exc
    out = TextBuilder()
    budget = [MAX_CELLS]
    warnings: tuple[str, ...] = ()
    try:
        for sheet in book.worksheets:
            if not _add_table(out, sheet.title, sheet.iter_rows(values_only=True), budget):
                warnings = (f"stopped at sheet {sheet.title!r}: more than {MAX_CELLS} cells",)
                break
    finally:
        book.close()
    return out.document(source, "xlsx", sha256, warnings=warnings)


def load_csv(data: bytes, source: str, sha256: str) -> Document:
    """Text of a CSV/TSV file (delimiter sniffed), one section named after the file."""
    text = decode_bytes(data, source)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if source.lower().endswith(".tsv") else csv.excel
    out = TextBuilder()
    budget = [MAX_CELLS]
    name = source.rsplit("/", 1)[-1]
    try:
        complete = _add_table(out, name, csv.reader(io.StringIO(text), dialect), budget)
    except csv.Error as exc:
        raise IngestError(source, f"malformed CSV: {exc}") from exc
    warnings = () if complete else (f"only the first {MAX_CELLS} cells read",)
    return out.document(source, "csv", sha256, warnings=warnings)
