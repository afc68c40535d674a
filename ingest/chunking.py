"""Structure-aware chunking: sections, then paragraphs, sentences, words, characters; sizes in estimated tokens."""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest._atoms import PARAGRAPH, SENTENCE, WORD, Atoms, atomize, estimate_tokens
from ingest.document import Document

CHUNKER_VERSION = "1"
"""Bumped whenever chunk boundaries or ids for the same input would change (the index manifest records it)."""
DEFAULT_CHUNK_TOKENS = 200
DEFAULT_CHUNK_OVERLAP = 30
MIN_FILL = 0.5
"""A chunk may end early at a stronger break (paragraph, sentence) only once it holds this share of `size`."""

__all__ = [
    "CHUNKER_VERSION",
    "DEFAULT_CHUNK_OVERLAP",
    "DEFAULT_CHUNK_TOKENS",
    "Chunk",
    "chunk",
    "estimate_tokens",
    "split_chunk",
]


@dataclass(frozen=True)
class Chunk:
    """A piece of a document's text with everything needed to cite it."""

    id: str
    """First 32 hex digits of sha256 over source, char_start, char_end and text: stable across runs and machines."""
    text: str
    """Exactly `Document.text[char_start:char_end]` (nothing prepended)."""
    source: str
    ordinal: int
    """Position of the chunk in its document, from 0."""
    char_start: int
    char_end: int
    page_start: int | None
    """First PDF page the chunk touches (from 1); None for other kinds."""
    page_end: int | None
    heading_path: tuple[str, ...]
    """Headings the chunk sits under, outermost first (metadata; not part of `text`)."""
    file_sha256: str
    ocr: bool = False
    """Some of the chunk's text was read by OCR (citations show "p. 3, OCR"); not part of the id."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def chunk_id(source: str, char_start: int, char_end: int, text: str) -> str:
    """The deterministic chunk id."""
    return hashlib.sha256(f"{source}\n{char_start}\n{char_end}\n{text}".encode()).hexdigest()[:32]


def chunk(doc: Document, size: int = DEFAULT_CHUNK_TOKENS, overlap: int = DEFAULT_CHUNK_OVERLAP) -> list[Chunk]:
    """Cut `doc` into chunks of at most `size` estimated tokens.

    Chunks never cross a section (heading) boundary. Inside a section a chunk ends at the strongest break it can
    reach once half full: blank line, then sentence end (. ! ? 。 ！ ？ ；), then line, then word; fenced code in
    Markdown is cut between lines. Consecutive chunks of a section overlap by about `overlap` tokens, starting at a
    sentence or word boundary. Together the chunks cover every non-whitespace character; none is blank.

    Raises:
        ValueError: `size` < 1, or `overlap` not in [0, size).
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size (got size={size}, overlap={overlap})")
    code = _code_spans(doc)
    pages = _PageIndex(doc)
    chunks: list[Chunk] = []
    for seg_start, seg_end, path in _segments(doc):
        atoms = atomize(doc.text, seg_start, seg_end, size, code)
        for i, k in _pack(atoms, size, overlap):
            start, end = atoms.starts[i], atoms.text_ends[k - 1]
            text = doc.text[start:end]
            chunks.append(
                Chunk(
                    id=chunk_id(doc.source, start, end, text),
                    text=text,
                    source=doc.source,
                    ordinal=len(chunks),
                    char_start=start,
                    char_end=end,
                    page_start=pages.at(start),
                    page_end=pages.at(end - 1),
                    heading_path=path,
                    file_sha256=doc.sha256,
                    ocr=pages.ocr(start, end),
                )
            )
    return chunks


def split_chunk(
    chunk: Chunk, max_tokens: int, count_tokens: Callable[[str], int | None] = estimate_tokens
) -> list[Chunk]:
    """Split `chunk` into pieces of at most `max_tokens` by `count_tokens` (e.g. a model's real tokenizer).

    Cuts at the strongest break available (paragraph, sentence, word), characters only as a last resort. Pieces
    keep document offsets (text == document slice), the parent's ordinal, pages and heading path, and get their
    own deterministic ids. A chunk that already fits comes back unchanged. A counter returning None falls back to
    `estimate_tokens`.

    Raises:
        ValueError: `max_tokens` is too small for even one character.
    """

    def count(text: str) -> int:
        n = count_tokens(text)
        return estimate_tokens(text) if n is None else n

    if count(chunk.text) <= max_tokens:
        return [chunk]
    text = chunk.text
    atoms = atomize(text, 0, len(text), max(1, max_tokens))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(atoms):
        k = _fit_by_count(atoms, text, i, max_tokens, count)
        if k == i:  # one atom alone is too long for the real tokenizer
            spans.extend(_split_chars(text, atoms.starts[i], atoms.text_ends[i], max_tokens, count))
            i += 1
            continue
        if k < len(atoms):
            k = _best_break(atoms, i, k, i, (atoms.cum[k] - atoms.cum[i]) * MIN_FILL)
        spans.append((atoms.starts[i], atoms.text_ends[k - 1]))
        i = k
    base = chunk.char_start
    return [
        dataclasses.replace(
            chunk,
            id=chunk_id(chunk.source, base + a, base + b, text[a:b]),
            text=text[a:b],
            char_start=base + a,
            char_end=base + b,
        )
        for a, b in spans
    ]


def _fit_by_count(atoms: Atoms, text: str, i: int, max_tokens: int, count: Callable[[str], int]) -> int:
    """Largest k with atoms i..k-1 within max_tokens (binary search; i when not even atom i fits)."""
    lo, hi = i, len(atoms)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(text[atoms.starts[i] : atoms.text_ends[mid - 1]]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _split_chars(
    text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int]]:
    spans = []
    while start < end:
        lo, hi = 0, end - start
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[start : start + mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        if lo == 0:
            raise ValueError(f"max_tokens={max_tokens} is too small for a single character")
        piece_end = start + lo
        stripped = len(text[start:piece_end].rstrip())
        spans.append((start, start + stripped))
        start = piece_end
        while start < end and text[start].isspace():
            start += 1
    return spans


def _best_break(atoms: Atoms, i: int, fit: int, floor: int, min_tokens: float) -> int:
    """End index in (floor, fit] before the strongest break, latest among equals, keeping >= min_tokens if it can."""
    best, best_level = fit, atoms.levels[fit]
    for c in range(fit - 1, floor, -1):
        if atoms.cum[c] - atoms.cum[i] < min_tokens:
            break
        if atoms.levels[c] > best_level:
            best, best_level = c, atoms.levels[c]
            if best_level == PARAGRAPH:
                break
    return best


def _pack(atoms: Atoms, size: int, overlap: int) -> list[tuple[int, int]]:
    """Atom index ranges [i, k) of the chunks of one segment."""
    n, cum = len(atoms), atoms.cum
    ranges: list[tuple[int, int]] = []
    i = done = 0
    while done < n:
        fit = max(bisect.bisect_right(cum, cum[i] + size, lo=i + 1) - 1, i + 1)
        if fit <= done:  # the overlap leaves no room for new text
            i = done
            continue
        k = fit if fit >= n else _best_break(atoms, i, fit, done, size * MIN_FILL)
        ranges.append((i, k))
        done = k
        i = _overlap_start(atoms, i, k, overlap) if k < n and overlap else k
    return ranges


def _overlap_start(atoms: Atoms, i: int, k: int, overlap: int) -> int:
    """Where the next chunk starts: a sentence start about `overlap` tokens before k, else a word start, else k."""
    cum = atoms.cum
    m = bisect.bisect_left(cum, cum[k] - overlap, lo=i + 1, hi=k)
    word = None
    for s in range(m, k):
        if atoms.levels[s] >= SENTENCE and cum[k] - cum[s] >= overlap / 2:
            return s
        if word is None and atoms.levels[s] >= WORD:
            word = s
    return k if word is None else word


def _segments(doc: Document) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, heading path) spans tiling the text: the sections, and the gaps between them with no path."""
    out: list[tuple[int, int, tuple[str, ...]]] = []
    pos, n = 0, len(doc.text)
    for sec in sorted(doc.sections, key=lambda s: s.char_start):
        start, end = max(sec.char_start, pos), min(sec.char_end, n)
        if end <= start:
            continue
        if start > pos:
            out.append((pos, start, ()))
        out.append((start, end, tuple(sec.heading_path)))
        pos = end
    if pos < n:
        out.append((pos, n, ()))
    merged: list[tuple[int, int, tuple[str, ...]]] = []
    carry = None
    for index, (start, end, path) in enumerate(out):
        start = start if carry is None else carry
        carry = None
        body = doc.text[start:end].strip()
        if path and index + 1 < len(out) and "\n" not in body and body.endswith(path[-1]):
            carry = start  # a section holding only its heading joins the next one
            continue
        merged.append((start, end, path))
    return merged


def _code_spans(doc: Document) -> list[tuple[int, int]]:
    if doc.kind != "markdown":
        return []
    from ingest.loaders.markdown import fence_spans

    return fence_spans(doc.text)


class _PageIndex:
    """Page number of a character offset (None when the document has no pages)."""

    def __init__(self, doc: Document) -> None:
        self.pages = [p for p in doc.pages if p.char_end > p.char_start]
        self.starts = [p.char_start for p in self.pages]

    def ocr(self, start: int, end: int) -> bool:
        """Does any OCR'd page overlap the span [start, end)?"""
        return any(p.ocr and p.char_start < end and start < p.char_end for p in self.pages)

    def at(self, pos: int) -> int | None:
        if not self.pages:
            return None
        return self.pages[max(bisect.bisect_right(self.starts, pos) - 1, 0)].number
