"""HTML: visible text with block structure as newlines, the title, and h1-h6 headings as sections (stdlib parser).

Text a browser would not show is left out: scripts, styles, `<template>`, `<textarea>`, and elements marked `hidden`,
`aria-hidden="true"` or styled `display: none` / `visibility: hidden` inline, with everything inside them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from ingest.loaders.markdown import sections_from_headings

_DROP = frozenset({"script", "style", "nav", "noscript", "template", "head", "svg", "iframe", "object", "textarea"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)
_CLOSES_P = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
        "dl",
        "figure",
        "form",
        "fieldset",
        "details",
        "hr",
        "address",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
)
_SELF_CLOSING = frozenset({"li", "dt", "dd", "option", "tr", "td", "th"})  # a second one closes the first
_HIDING_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_PARAGRAPH = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "header",
        "footer",
        "aside",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
        "dl",
        "figure",
        "figcaption",
        "form",
        "fieldset",
        "details",
        "summary",
        "hr",
        "address",
        "body",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
    }
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
        self.open: list[str] = []  # open elements (void ones never are)
        self.hidden_at: int | None = None  # depth in `open` of the outermost hidden element we are in

    def _emit(self, s: str) -> None:
        self.parts.append(s)
        self.length += len(s)

    def _break(self, count: int) -> None:
        if self.length and self.newlines < count:
            self._emit("\n" * (count - self.newlines))
            self.newlines = count

    def _close_to(self, depth: int) -> None:
        del self.open[depth:]
        if self.hidden_at is not None and len(self.open) <= self.hidden_at:
            self.hidden_at = None

    def _track(self, tag: str, attrs) -> None:
        """Keep the open-element stack (with HTML's implied end tags for p, li, ...) and the hidden region."""
        if self.open and (
            (tag in _CLOSES_P and self.open[-1] == "p") or (tag in _SELF_CLOSING and self.open[-1] == tag)
        ):
            self._close_to(len(self.open) - 1)
        if tag in _VOID:
            return
        self.open.append(tag)
        if self.hidden_at is None and _hides(attrs):
            self.hidden_at = len(self.open) - 1

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self.in_title = True
        self._track(tag, attrs)
        if tag in _DROP:
            self.drop_depth += 1
            return
        if self.drop_depth or self.hidden_at is not None:
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
        was_hidden = self.hidden_at is not None
        if tag in self.open:
            self._close_to(len(self.open) - 1 - self.open[::-1].index(tag))
        if tag in _DROP:
            self.drop_depth = max(0, self.drop_depth - 1)
            return
        if self.drop_depth or was_hidden:
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
        if self.drop_depth or self.hidden_at is not None:
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


def _hides(attrs) -> bool:
    for name, value in attrs:
        if name == "hidden":
            return True
        if name == "aria-hidden" and (value or "").strip().lower() == "true":
            return True
        if name == "style" and value and _HIDING_STYLE.search(value):
            return True
    return False


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
