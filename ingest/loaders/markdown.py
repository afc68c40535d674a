"""Markdown: the text as written, with the heading hierarchy (ATX and setext) as sections. Code fences are known."""

from __future__ import annotations

import re

from ingest.document import Section

_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_NOT_PARAGRAPH = re.compile(r" {0,3}(?:[-*+>]|\d+[.)])(?:[ \t]|$)|\s*$")


def _lines(text: str) -> list[tuple[int, str]]:
    """(offset, line without its newline) for every line."""
    out, pos = [], 0
    for line in text.split("\n"):
        out.append((pos, line))
        pos += len(line) + 1
    return out


def fence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of fenced code blocks (from the opening fence to the end of the closing one)."""
    spans: list[tuple[int, int]] = []
    opening: tuple[int, str] | None = None
    for pos, line in _lines(text):
        m = _FENCE.match(line)
        if opening is None:
            if m and not (m.group(1)[0] == "`" and "`" in line[m.end() :]):
                opening = (pos, m.group(1))
        elif (
            m and m.group(1)[0] == opening[1][0] and len(m.group(1)) >= len(opening[1]) and not line[m.end() :].strip()
        ):
            spans.append((opening[0], pos + len(line)))
            opening = None
    if opening is not None:  # an unclosed fence runs to the end
        spans.append((opening[0], len(text)))
    return spans


def headings(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, title) of every heading outside code fences."""
    fences = fence_spans(text)
    found: list[tuple[int, int, str]] = []
    prev: tuple[int, str] | None = None  # the previous line, if it can be a setext heading's text
    fence_i = 0
    for pos, line in _lines(text):
        while fence_i < len(fences) and fences[fence_i][1] < pos:
            fence_i += 1
        if fence_i < len(fences) and fences[fence_i][0] <= pos <= fences[fence_i][1]:
            prev = None
            continue
        atx = _ATX.match(line)
        if atx:
            found.append((pos, len(atx.group(1)), (atx.group(2) or "").strip()))
            prev = None
            continue
        setext = _SETEXT.match(line)
        if setext and prev is not None:
            found.append((prev[0], 1 if setext.group(1)[0] == "=" else 2, prev[1].strip()))
            prev = None
            continue
        prev = None if _NOT_PARAGRAPH.match(line) else (pos, line)
    return found


def sections_from_headings(heads: list[tuple[int, int, str]], end: int) -> tuple[tuple[Section, ...], str | None]:
    """Sections spanning each heading to the next one, with heading paths; and the first level-1 title."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    for i, (pos, level, title) in enumerate(heads):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        stop = heads[i + 1][0] if i + 1 < len(heads) else end
        if stop > pos:
            sections.append(Section(pos, stop, tuple(t for _, t in stack)))
    first = next((t for _, level, t in heads if level == 1 and t), None)
    return tuple(sections), first
