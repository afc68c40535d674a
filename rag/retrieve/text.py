"""Text normalisation and tokenisation shared by BM25, quote verification, extractive answers and evaluation.

English/Latin text becomes lower-case word tokens; Han and Kana runs (Chinese, Japanese: no spaces) become
overlapping character bigrams, a lone character becomes a unigram. Mixed text works: each run is tokenised by script.

    >>> tokenize("Ollama 的 API 返回向量")
    ['ollama', '的', 'api', '返回', '回向', '向量']
    >>> normalize("  Ｈｅｌｌｏ,\\n  World! ", strip_punct=True)
    'hello world'
"""

from __future__ import annotations

import functools
import re
import unicodedata

from ingest.cjk import CJK_RANGES

TOKENIZER_VERSION = "1"
"""Bumped whenever tokenize() changes its output, so persisted BM25 indexes rebuild."""

_CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
_CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")

ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def normalize(text: str, *, strip_punct: bool = False) -> str:
    """NFKC, casefold, whitespace collapsed to single spaces and trimmed; optionally punctuation/symbols -> spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if strip_punct:
        text = "".join(" " if _is_punct(ch) else ch for ch in text)
    return _SPACE.sub(" ", text).strip()


def compact(text: str) -> str:
    """normalize(strip_punct=True) with all whitespace removed: the form quotes are compared in.

    Robust to line breaks and spaces a PDF extractor inserts (or drops) between words and between Han characters.
    """
    return normalize(text, strip_punct=True).replace(" ", "")


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """A light plural stemmer (Harman's S-stemmer): documents -> document, queries -> query."""
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _cjk_tokens(run: str, out: list[str]) -> None:
    if len(run) == 1:
        out.append(run)
    else:
        out.extend(run[i : i + 2] for i in range(len(run) - 1))


def tokenize(text: str, *, stem: bool = False, stopwords: bool = False) -> list[str]:
    """Tokens for BM25: lower-case Latin words (optionally plural-stemmed, stopwords removed) and Han/Kana bigrams."""
    if text.isascii():  # the common case, same tokens: NFKC leaves ASCII as it is and casefold is lower()
        words = _WORD.findall(text.lower())
        if stopwords:
            words = [w for w in words if w not in ENGLISH_STOPWORDS]
        return [_stem(w) for w in words] if stem else words
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word.isascii() or not _CJK_CHAR.search(word):
            if stopwords and word in ENGLISH_STOPWORDS:
                continue
            out.append(_stem(word) if stem else word)
            continue
        pos = 0
        for run in _CJK_RUN.finditer(word):
            if run.start() > pos:
                out.append(word[pos : run.start()])
            _cjk_tokens(run.group(), out)
            pos = run.end()
        if pos < len(word):
            out.append(word[pos:])
    return out


def index_text(text: str, heading_path: tuple[str, ...] | list[str] = ()) -> str:
    """The text embedded and BM25-indexed for a chunk: its heading path (title first) on a line, then the chunk.

    A heading the chunk already starts with (the first chunk of a section) is not repeated. Stored text is unchanged.

        >>> index_text("Pull a model first.", ("Ollama", "Quickstart"))
        'Ollama > Quickstart\\nPull a model first.'
    """
    path = [h.strip() for h in heading_path if h and h.strip()]
    head = text.lstrip("# \n")
    if path and head.startswith(path[-1]):
        path.pop()  # the chunk opens with its own heading: keep the ancestors only
    return f"{' > '.join(path)}\n{text}" if path else text


def is_cjk(text: str) -> bool:
    """True when the text contains any Han or Kana character."""
    return _CJK_CHAR.search(text) is not None


def reads_cjk(text: str) -> bool:
    """True when at least a third of the letters are Han/Kana: the text reads as Chinese or Japanese."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(is_cjk(c) for c in letters) * 3 >= len(letters)


__all__ = [
    "ENGLISH_STOPWORDS",
    "TOKENIZER_VERSION",
    "compact",
    "index_text",
    "is_cjk",
    "normalize",
    "reads_cjk",
    "tokenize",
]
