"""Sentence spans (extractive answers, sentence vectors): abbreviations, full-width punctuation, code whole.

Splits after . ! ? (and a closing quote or bracket) followed by whitespace, after 。！？；… (and a closing 」』”）),
at blank lines and before list items; a single line break (hard-wrapped text) does not end a sentence. It does not
split after abbreviations (e.g., i.e., etc. before a lower-case word, Dr., Fig., No., vs.), single initials
("J. Smith") or inside numbers and versions (v1.2, 3.5 GB: no space follows the dot). A fenced code block is one span.
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "al",
        "approx",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "fig",
        "figs",
        "no",
        "nos",
        "vol",
        "vols",
        "eq",
        "eqs",
        "sec",
        "ch",
        "p",
        "pp",
        "ed",
        "eds",
        "rev",
        "est",
        "dept",
        "univ",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mt",
        "ft",
        "resp",
    ]
)
"""Lower-cased, without the final dot: words after which a "." does not end a sentence."""
_ALWAYS_INSIDE = frozenset(
    {
        "e.g",
        "i.e",
        "cf",
        "vs",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "fig",
        "figs",
        "no",
        "eq",
        "eqs",
        "pp",
        "p",
        "vol",
        "approx",
        "al",
    }
)
"""Abbreviations that never end a sentence even before a capital ("e.g. Llama", "Dr. Smith"); the others ("etc.",
"Inc.") end one when a capital follows."""
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)
_SENTENCE = re.compile(
    r".+?(?:[.!?]+[\"'”’)\]]*(?=\s|$)|[。！？；…]+[」』”’）)]*|\n[ \t]*\n|\n(?=[ \t]*(?:[-*•+]|\d+[.)])\s)|$)",
    re.DOTALL,
)
_MARKER = re.compile(r"(?:[-*•+]|\d+[.)])\s+")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)\.[\"'”’)\]]*$")


def _ends_in_abbreviation(sentence: str, following: str) -> bool:
    """True when `sentence` ends with an abbreviation or initial that does not end it, given the text after it."""
    match = _LAST_WORD.search(sentence)
    if not match:
        return False
    word = match.group(1).casefold()
    nxt = following.lstrip()[:1]
    if len(word) == 1 and match.group(1).isupper():  # an initial: "J. Smith", "Fig. 2 in A. B. Jones"
        return True
    if word in _ALWAYS_INSIDE or word.rstrip(".") in _ALWAYS_INSIDE:
        return True
    if word in ABBREVIATIONS or word.rstrip(".") in ABBREVIATIONS or "." in word:  # "etc.", "a.m.", "U.S."
        return bool(nxt) and (nxt.islower() or nxt.isdigit() or nxt in ",;:(")
    return False


def _prose_spans(text: str, offset: int, out: list[tuple[int, int]]) -> None:
    pending: tuple[int, int] | None = None
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        marker = _MARKER.match(text, start, end)
        if marker:
            start = marker.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end <= start:
            continue
        gap = text[pending[1] : start] if pending else ""
        if (
            pending
            and not marker
            and "\n\n" not in gap.replace(" ", "")
            and _ends_in_abbreviation(text[pending[0] : pending[1]], text[start:])
        ):
            pending = (pending[0], end)
            continue
        if pending:
            out.append((pending[0] + offset, pending[1] + offset))
        pending = (start, end)
    if pending:
        out.append((pending[0] + offset, pending[1] + offset))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences in `text`, trimmed of surrounding whitespace; list markers excluded; each
    fenced code block one span."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for fence in _FENCE.finditer(text):
        _prose_spans(text[pos : fence.start()], pos, spans)
        start, end = fence.span()
        while text[start].isspace():
            start += 1
        spans.append((start, end))
        pos = fence.end()
    _prose_spans(text[pos:], pos, spans)
    return spans


MAX_EMBEDDED_SENTENCES = 16
"""Most sentence vectors a chunk stores; a chunk with more has its sentences grouped into that many runs."""
MIN_SENTENCE_CHARS = 3


def sentence_texts(text: str, most: int = MAX_EMBEDDED_SENTENCES) -> list[str]:
    """The sentences of a chunk that get their own vector: none for a chunk of one sentence (its chunk vector is
    that sentence's); more than `most` are joined into `most` runs of neighbouring sentences."""
    pieces = [text[a:b].strip() for a, b in split_sentences(text)]
    pieces = [p for p in pieces if len(p) >= MIN_SENTENCE_CHARS]
    if len(pieces) <= 1:
        return []
    if len(pieces) <= most:
        return pieces
    size, extra = divmod(len(pieces), most)
    runs, start = [], 0
    for i in range(most):
        end = start + size + (1 if i < extra else 0)
        runs.append(" ".join(pieces[start:end]))
        start = end
    return runs


__all__ = ["ABBREVIATIONS", "MAX_EMBEDDED_SENTENCES", "sentence_texts", "split_sentences"]
