"""HTML: visible text with block structure as newlines, the title, and h1-h6 headings as sections (stdlib parser)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

from ingest.loaders.markdown import sections_from_headings

_DROP = frozenset({"script", "style", "nav", "noscript", "template", "head", "svg", "iframe", "object"})
_PARAGRAPH = frozenset(
    {"p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote", "pre", "table", "ul", "ol",
     "dl", "figure", "figcaption", "form", "fieldset", "details", "summary", "hr", "address", "body",
     "h1", "h2", "h3", "h4", "h5", "h6"}
)
_LINE = frozenset({"br", "li", "tr", "dt", "dd", "caption", "option"})
_CELL = frozenset({"td", "th"})
_HEADING = re.compile(r"h[1-6]")
_SPACES = re.compile(r"\s+")


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.newlines = 2  # pending-newline state: 2 at the start, so no leading blank lines
        self.drop_depth = 0
        self.pre_depth = 0
        self.in_title = False
        self.title_parts: list[str] = []
        self.heading: tuple[int, int, list[str]] | None = None  # (offset, level, text parts)
        self.heads: list[tuple[int, int, str]] = []

    def _emit(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def _break(self, count: int) -> None:
        if self.length and self.newlines < count:
            self._emit("\n" * (count - self.newlines))
            self.newlines = count

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _DROP:
            self.drop_depth += 1
            return
        if self.drop_depth:
            return
        if tag == "pre":
            self.pre_depth += 1
        if tag in _PARAGRAPH:
            self._break(2)
        elif tag in _LINE:
            self._break(1)
        elif tag in _CELL and self.length and not self.parts[-1][-1].isspace():
            self._emit(" ")
            self.newlines = 0
        if _HEADING.fullmatch(tag):
            self.heading = (self.length, int(tag[1]), [])

    def handle_startendtag(self, tag: str, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _LINE and tag not in _PARAGRAPH:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if tag in _DROP:
            self.drop_depth = max(0, self.drop_depth - 1)
            return
        if self.drop_depth:
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if _HEADING.fullmatch(tag) and self.heading is not None:
            pos, level, words = self.heading
            title = _SPACES.sub(" ", "".join(words)).strip()
            if title:
                self.heads.append((pos, level, title))
            self.heading = None
        if tag in _PARAGRAPH:
            self._break(2)
        elif tag in _LINE:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)
        if self.drop_depth:
            return
        if not self.pre_depth:
            data = _SPACES.sub(" ", data)
            if not self.length or self.parts[-1][-1].isspace():
                data = data.lstrip(" ")
        if not data:
            return
        self._emit(data)
        self.newlines = len(data) - len(data.rstrip("\n"))
        if self.heading is not None:
            self.heading[2].append(data)


def parse_html(markup: str) -> tuple[str, str | None, list[tuple[int, int, str]]]:
    """(visible text, title, headings as (offset, level, title)) of an HTML document."""
    builder = _TextBuilder()
    builder.feed(markup)
    builder.close()
    body = "".join(builder.parts).rstrip()
    title = _SPACES.sub(" ", "".join(builder.title_parts)).strip() or None
    heads = [h for h in builder.heads if h[0] < len(body)]
    return body, title, heads


def html_document_parts(markup: str):
    """Text (the title first, as its own paragraph), title and heading sections of an HTML document."""
    body, title, heads = parse_html(markup)
    shift = 0
    if title and not body.startswith(title):
        prefix = title + "\n\n" if body else title
        body = prefix + body
        shift = len(prefix)
    sections, _ = sections_from_headings([(pos + shift, level, t) for pos, level, t in heads], len(body))
    return body, title, sections
