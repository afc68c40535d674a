"""Lexical evidence for abstaining on CJK questions when the embedder cannot read them.

An English-only embedder (all-minilm) gives any Chinese text a cosine of 0.45-0.65 against any Chinese question,
so the dense floor (`min_score`) never fires: "今天北京的天气怎么样？" was answered from a curl example. For a query
in a CJK script with such an embedder the floor is applied to lexical evidence instead: the idf-weighted share of the
question's content terms (the character bigrams of its CJK stretches once question words such as 什么/怎么 are cut
out, plus its Latin words and numbers) that the best retrieved chunk contains, from 0 (none) to 1 (all). A question
written from a passage shares most of its rare terms with it; an off-topic one shares a few everyday words (今天,
天气). Calibrated on CMRC2018, 50 off-topic Chinese questions and 30 held-out ones (BENCHMARKS.md, "QA").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from rag.retrieve.text import ENGLISH_STOPWORDS, is_cjk, tokenize

CJK_EVIDENCE_FLOOR = 0.25
"""Minimum evidence for a CJK question with an English-only embedder: the idf-weighted share of the question's
content terms found in one retrieved chunk."""
Script = Literal["cjk", "latin", "other"]
_QUESTION_WORDS = re.compile(
    "为什么|怎么样|什么样|是什么|有什么|有哪些|是多少|有多少|多少|什么|怎么|怎样|如何|哪些|哪个|哪里|哪位|哪年|哪一|哪|"
    "是否|可以|请问|一下|多久|多长|吗|呢|谁|几"
)
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def query_script(text: str) -> Script:
    """ "cjk" when at least a third of the letters are Han/Kana/Hangul, "latin" when most are ASCII, else "other"."""
    letters = _LETTER.findall(text)
    if not letters:
        return "latin"
    cjk = sum(1 for c in letters if is_cjk(c) or "\uac00" <= c <= "\ud7a3")
    if cjk * 3 >= len(letters):
        return "cjk"
    return "latin" if sum(c.isascii() for c in letters) * 2 >= len(letters) else "other"


def _runs(query: str) -> list[str]:
    """The question's CJK stretches, cut at question words, punctuation and non-CJK text."""
    text = _QUESTION_WORDS.sub("|", query)
    return [r for r in re.split(r"\|+", "".join(c if is_cjk(c) else "|" for c in text)) if len(r) >= 2]


def _latin(query: str) -> list[str]:
    words = {w.casefold() for w in _LATIN.findall(query)}
    return [w for w in words if len(w) >= 2 and w not in ENGLISH_STOPWORDS]


class _Idf:
    def __init__(self, index: Any) -> None:
        self.index = index
        self.n = len(index) if index is not None else 0

    def __call__(self, term: str) -> float:
        if not self.n:
            return 1.0
        df = max(self.index.document_frequency(term), 1)
        return math.log(1.0 + (self.n - df + 0.5) / (df + 0.5)) / math.log(1.0 + (self.n - 0.5) / 1.5)


def _terms(query: str) -> set[str]:
    """The question's content terms: bigrams of its CJK stretches (question words cut out) and its Latin words."""
    return {run[i : i + 2] for run in _runs(query) for i in range(len(run) - 1)} | set(_latin(query))


def chunk_evidence(query: str, text: str, idf: Any = None) -> float:
    """Evidence that `text` is about `query` (see the module doc); `idf` maps a token to its weight (default 1)."""
    idf = idf or (lambda _t: 1.0)
    terms = _terms(query)
    total = sum(idf(t) for t in terms)
    if not total:
        return 0.0
    words = set(tokenize(text))
    return sum(idf(t) for t in terms if (t in words if t.isascii() else t in text)) / total


def cjk_evidence(query: str, texts: Iterable[str], index: Any = None) -> float:
    """The best `chunk_evidence` over `texts`, idf from `index` (a `rag.bm25.BM25Index`; None: every token 1)."""
    idf = _Idf(index)
    return round(max((chunk_evidence(query, t, idf) for t in texts), default=0.0), 3)


def needs_lexical_floor(query: str, multilingual: bool | None) -> bool:
    """True when the dense floor cannot judge `query`: a CJK query and an embedder not known to be multilingual."""
    return query_script(query) == "cjk" and multilingual is not True


def evidence_of(query: str, hits: Sequence[Any], index: Any = None) -> float:
    """`cjk_evidence` over the text of `hits` (objects with `.text`)."""
    return cjk_evidence(query, (h.text for h in hits), index)


__all__ = [
    "CJK_EVIDENCE_FLOOR",
    "Script",
    "chunk_evidence",
    "cjk_evidence",
    "evidence_of",
    "needs_lexical_floor",
    "query_script",
]
