"""What a loader produces: the extracted text of one file, with page and heading locations as character spans."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


def _to_dict(obj: Any) -> dict[str, Any]:
    return dataclasses.asdict(obj)


@dataclass(frozen=True)
class Page:
    """One PDF page's span in `Document.text`."""

    number: int
    """Page number, from 1."""
    char_start: int
    char_end: int
    """End offset, exclusive; equal to `char_start` for a page without (usable) text."""
    ocr: bool = False
    """The page's text was read by OCR (a scan without a text layer, or an image)."""

    to_dict = _to_dict


@dataclass(frozen=True)
class Section:
    """A span of `Document.text` under one heading (it starts at the heading itself)."""

    char_start: int
    char_end: int
    heading_path: tuple[str, ...]
    """Headings from the outermost to this one, e.g. ("Install", "Linux")."""

    to_dict = _to_dict


@dataclass(frozen=True)
class Document:
    """The extracted text of one file. Offsets everywhere refer to `text` (not to the file's bytes)."""

    source: str
    """Storage key `<root folder name>/<relative path>` (see `SourceFile.source`)."""
    kind: str
    """"pdf", "text", "markdown" or "html"."""
    text: str
    sha256: str
    """Hex sha256 of the file's bytes."""
    title: str | None = None
    pages: tuple[Page, ...] = ()
    """PDF pages in order (empty for other kinds)."""
    sections: tuple[Section, ...] = ()
    """Non-overlapping heading sections in order; text outside every section has no heading path."""
    warnings: tuple[str, ...] = ()
    """Problems that did not stop extraction (garbled pages, page limit, ...)."""

    to_dict = _to_dict
