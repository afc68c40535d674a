"""Assemble a Document's text from paragraphs, headings and pages, keeping their character spans."""

from __future__ import annotations

from ingest.document import Document, Page
from ingest.loaders.markdown import sections_from_headings

PARAGRAPH_BREAK = "\n\n"


class TextBuilder:
    """Paragraphs joined by blank lines; headings (with levels) become sections, pages become `Page` spans."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.heads: list[tuple[int, int, str]] = []
        self.pages: list[Page] = []
        self._page: tuple[int, int] | None = None
        self._page_ocr = False

    def paragraph(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self.parts:
            self.parts.append(PARAGRAPH_BREAK)
            self.pos += len(PARAGRAPH_BREAK)
        if self._page is not None and self._page[1] < 0:
            self._page = (self._page[0], self.pos)
        self.parts.append(text)
        self.pos += len(text)

    def heading(self, level: int, title: str) -> None:
        """A heading paragraph that opens a section (level 1 outermost)."""
        title = " ".join(title.split())
        if not title:
            return
        self.paragraph(title)
        self.heads.append((self.pos - len(title), max(1, level), title))

    def start_page(self, number: int, *, ocr: bool = False) -> None:
        """Open page `number`; `ocr`: its text is read by OCR (marked on the `Page`)."""
        self.end_page()
        self._page, self._page_ocr = (number, -1), ocr

    def end_page(self) -> None:
        if self._page is None:
            return
        number, start = self._page
        start = start if start >= 0 else self.pos
        self.pages.append(Page(number, start, self.pos, ocr=self._page_ocr))
        self._page = None

    def document(
        self, source: str, kind: str, sha256: str, *, title: str | None = None, warnings: tuple[str, ...] = ()
    ) -> Document:
        self.end_page()
        text = "".join(self.parts)
        sections, first_title = sections_from_headings(self.heads, len(text))
        return Document(
            source,
            kind,
            text,
            sha256,
            title=title or first_title,
            pages=tuple(self.pages),
            sections=sections,
            warnings=warnings,
        )
