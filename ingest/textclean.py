"""Clean extracted page text: drop running headers/footers and page numbers, join words hyphenated at line ends.

Works on the pages of one document at once (a running header is only visible across pages). Every edit is recorded
as a `Removal` in the raw page text, so `CleanPage.raw_offset` maps any offset of the cleaned text back to the raw
text of the same page; the page a character belongs to never changes.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

RemovalKind = Literal["header", "footer", "hyphen"]

ZONE_LINES = 3
"""Lines at the top and at the bottom of a page that may be running headers/footers."""
WINDOW_PAGES = 6
"""A header line must repeat on pages within this distance (odd/even pages alternate, chapters change heads)."""
MIN_REPEATS = 2
"""Other pages in the window that must carry the same (number-blind) line at the same edge; inner lines need one
more."""
MAX_LINE_CHARS = 160
"""Lines are compared on this many characters (running heads are short; body lines rarely repeat that long)."""
MIN_PAGES = 3
"""Documents with fewer pages with text are left as they are."""
SOFT_HYPHEN_MARK = "\ufffe"
"""PDFium's marker for a hyphen it found at a line end (the line break itself is already gone)."""

_DIGITS = re.compile(r"\d+")
_ROMAN = re.compile(r"\b[ivxlcdm]{1,7}\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_COMPOUND = re.compile(r"[-/_@:\\]|\.\w")  # hyphens elsewhere in the word, paths, URLs, dotted names
# "cre-\nativity": a lowercase letter, a hyphen (ASCII or U+2010/U+00AD) at the line end, a lowercase letter next
_LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])[-\u2010\u00ad][ \t]*\n[ \t]*(?=[^\W\d_A-Z])|\ufffe[ \t]*\n?[ \t]*")


@dataclass(frozen=True)
class Removal:
    """One edit of the raw page text: `raw[start:end]` was dropped (a hyphen joins the two halves of a word)."""

    start: int
    end: int
    kind: RemovalKind


@dataclass(frozen=True)
class CleanPage:
    """The cleaned text of one page and the edits that made it from the raw text."""

    text: str
    removals: tuple[Removal, ...] = ()
    _starts: tuple[int, ...] = field(default=(0,), repr=False, compare=False)
    """Offset in `text` where each kept piece of the raw text begins (a leading strip makes the first negative)."""
    _raw_starts: tuple[int, ...] = field(default=(0,), repr=False, compare=False)

    def raw_offset(self, offset: int) -> int:
        """The offset in the raw page text of the character at `offset` in `text`."""
        i = max(0, bisect.bisect_right(self._starts, offset) - 1)
        return self._raw_starts[i] + offset - self._starts[i]

    def count(self, kind: RemovalKind) -> int:
        return sum(1 for r in self.removals if r.kind == kind)


def _normalize(line: str) -> str:
    """Number-blind form of a line: page numbers (arabic or roman) become '#'."""
    return _ROMAN.sub("#", _DIGITS.sub("#", _SPACES.sub(" ", line.strip())))


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank line, end excluding the newline."""
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _edges(text: str, spans: list[tuple[int, int]]) -> tuple[list[str], list[str]]:
    top = [_normalize(text[a:b])[:MAX_LINE_CHARS] for a, b in spans[:ZONE_LINES]]
    bottom = [_normalize(text[a:b])[:MAX_LINE_CHARS] for a, b in reversed(spans[-ZONE_LINES:])]
    return top, bottom


def _running(edges: list[list[str]], page: int, depth: int, line: str) -> bool:
    """Does `line` sit at the same edge, at most `depth` lines in, on enough nearby pages?"""
    lo, hi = max(0, page - WINDOW_PAGES), min(len(edges), page + WINDOW_PAGES + 1)
    hits = sum(1 for p in range(lo, hi) if p != page and line in edges[p][: depth + 1])
    return hits >= MIN_REPEATS + (depth > 0)


def _running_lines(texts: Sequence[str]) -> list[list[tuple[int, int, RemovalKind]]]:
    """Per page, the raw spans of its running header/footer lines."""
    spans = [_line_spans(t) for t in texts]
    tops, bottoms = [], []
    for text, sp in zip(texts, spans, strict=False):
        top, bottom = _edges(text, sp)
        tops.append(top)
        bottoms.append(bottom)
    if sum(1 for sp in spans if sp) < MIN_PAGES:
        return [[] for _ in texts]
    out: list[list[tuple[int, int, RemovalKind]]] = []
    for page, sp in enumerate(spans):
        cut: list[tuple[int, int, RemovalKind]] = []
        top_n = 0  # lines are dropped from the edge inwards only: a kept line protects the ones behind it
        for depth, line in enumerate(tops[page]):
            if depth >= len(sp) - 1 or not _running(tops, page, depth, line):
                break
            cut.append((*sp[depth], "header"))
            top_n += 1
        for depth, line in enumerate(bottoms[page]):
            index = len(sp) - 1 - depth
            if index <= top_n or not _running(bottoms, page, depth, line):
                break
            cut.append((*sp[index], "footer"))
        out.append(cut)
    return out


def _build(raw: str, removals: list[Removal]) -> CleanPage:
    removals.sort(key=lambda r: r.start)
    parts: list[str] = []
    starts, raw_starts = [0], [0]
    pos = length = 0
    for r in removals:
        if r.start < pos:
            continue
        parts.append(raw[pos : r.start])
        length += r.start - pos
        pos = r.end
        starts.append(length)
        raw_starts.append(pos)
    parts.append(raw[pos:])
    joined = "".join(parts)
    lead = len(joined) - len(joined.lstrip())
    return CleanPage(joined.strip(), tuple(removals), tuple(s - lead for s in starts), tuple(raw_starts))


def _joinable(raw: str, m: re.Match[str]) -> bool:
    """A word split at a line end, not a compound or identifier ("install-latex-guide", a URL, a file name)?"""
    if raw[m.start()] == SOFT_HYPHEN_MARK:
        return True  # PDFium saw a soft hyphen
    left = raw[: m.start()].rsplit(None, 1)[-1] if raw[: m.start()].strip() else ""
    right = raw[m.end() :].split(None, 1)[0] if raw[m.end() :].strip() else ""
    return not _COMPOUND.search(left + right)


def clean_pages(texts: Sequence[str], *, headers: bool = True, hyphens: bool = True) -> list[CleanPage]:
    """Cleaned text of each page of one document, in order (lines end in "\\n"; blank pages stay blank)."""
    cuts = _running_lines(texts) if headers else [[] for _ in texts]
    pages = []
    for raw, cut in zip(texts, cuts, strict=False):
        removals = []
        for a, b, kind in cut:
            end = b + 1 if b < len(raw) and raw[b] == "\n" else b
            removals.append(Removal(a, end, kind))
        if hyphens:
            dropped = [(r.start, r.end) for r in removals]
            for m in _LINE_END_HYPHEN.finditer(raw):
                if not any(a <= m.start() < b for a, b in dropped) and _joinable(raw, m):
                    removals.append(Removal(m.start(), m.end(), "hyphen"))
        pages.append(_build(raw, removals))
    return pages


def summary(pages: Sequence[CleanPage]) -> Counter[str]:
    """Removals by kind over a document."""
    return Counter(r.kind for p in pages for r in p.removals)
