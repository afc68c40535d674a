"""Check that a quoted passage really occurs in the chunk it cites.

Both sides are compared in `rag.retrieve.text.compact` form (NFKC, casefold, no punctuation, no whitespace), so line
breaks, PDF spacing between Han characters, curly quotes and hyphenation don't matter. An exact compact substring
scores 1.0; otherwise the score is the best `difflib` similarity between the quote and a window of the chunk anchored
at their longest common runs. A quote with ellipses ("...", "…") is checked piece by piece; its score is the weakest
piece; so is a quote of several sentences that is not whole in the chunk (each sentence on its own).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from ingest.cjk import CJK_RANGES
from rag.retrieve.text import compact

VERIFY_THRESHOLD = 0.85
"""Minimum match score for a quote to count as verified."""
MIN_QUOTE_UNITS = 3
"""A quote needs at least this many words (Latin) or characters (Han/Kana) to support anything: a bare title such as
"Packet_switching" occurs in its chunk but proves nothing."""
_UNIT = re.compile(f"[A-Za-z0-9]+|[{CJK_RANGES}]")
_ELLIPSIS = re.compile(r"\.{3,}|…|⋯")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.;])\s+")
_ANCHORS = 3


def _window_ratio(quote: str, text: str) -> float:
    """Best alignment score of `quote` against spans of `text` anchored at their longest common runs.

    Score = 2M / (len(quote) + len(span)), M the matched characters and span the stretch of `text` from the first
    to the last matched character: extra or missing characters on either side both lower it.
    """
    matcher = SequenceMatcher(None, quote, text, autojunk=False)
    blocks = sorted((b for b in matcher.get_matching_blocks() if b.size), key=lambda b: -b.size)[:_ANCHORS]
    best = 0.0
    slack = max(4, len(quote) // 10)
    for block in blocks:
        start = max(0, block.b - block.a - slack)
        window = text[start : block.b - block.a + len(quote) + slack]
        matched = [b for b in SequenceMatcher(None, quote, window, autojunk=False).get_matching_blocks() if b.size]
        if not matched:
            continue
        hits = sum(b.size for b in matched)
        span = matched[-1].b + matched[-1].size - matched[0].b
        best = max(best, 2 * hits / (len(quote) + span))
    return best


def match_score(quote: str, text: str) -> float:
    """How well `quote` is contained in `text`, in [0, 1] (1.0: exact after normalisation). A quote that is not
    whole in `text` is also scored sentence by sentence: sentences of the chunk quoted together without the "…"
    between them (as models do when shown the best sentences of a chunk) each score on their own."""
    pieces = _ELLIPSIS.split(quote)
    score = _pieces_score(pieces, text)
    if score < 1.0:
        sentences = [s for piece in pieces for s in _SENTENCE_END.split(piece)]
        if len(sentences) > len(pieces):
            score = max(score, _pieces_score(sentences, text))
    return score


def _pieces_score(parts: list[str], text: str) -> float:
    """The weakest score of `parts` in `text`, each found after the previous one where possible."""
    pieces = [compact(p) for p in parts]
    pieces = [p for p in pieces if p]
    if not pieces:
        return 0.0
    haystack = compact(text)
    scores = []
    pos = 0
    for piece in pieces:
        found = haystack.find(piece, pos)
        if found < 0:
            found = haystack.find(piece)
        if found >= 0:
            scores.append(1.0)
            pos = found + len(piece)
        else:
            scores.append(_window_ratio(piece, haystack))
    return min(scores)


def verify_quote(quote: str, text: str, threshold: float = VERIFY_THRESHOLD) -> tuple[bool, float]:
    """(verified, score): whether `quote` is found in `text` with a score of at least `threshold` and is long enough
    to support a claim (MIN_QUOTE_UNITS words or CJK characters)."""
    score = round(match_score(quote, text), 4)
    return score >= threshold and len(_UNIT.findall(quote)) >= MIN_QUOTE_UNITS, score


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """Character span of `quote` in `text` when it occurs verbatim (modulo surrounding whitespace), else None."""
    needle = quote.strip()
    if not needle:
        return None
    start = text.find(needle)
    return None if start < 0 else (start, start + len(needle))


__all__ = ["MIN_QUOTE_UNITS", "VERIFY_THRESHOLD", "locate", "match_score", "verify_quote"]
