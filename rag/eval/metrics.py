"""Evaluation metrics: pure functions over ranked ids, answers and citations (no I/O, no models).

Retrieval metrics take `ranked` (document ids, best first; repeats are counted once, at their first rank) and the
gold documents: a collection of ids (each gain 1) or a mapping id -> gain for graded relevance.

    >>> round(ndcg_at_k(["a", "b"], {"b": 1}, 10), 4)
    0.6309
    >>> contains_answer("It was in the 10th century.", ["10th Century"])
    True
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from posixpath import splitext

from rag.retrieve.text import normalize

__all__ = [
    "abstention_accuracy",
    "citation_precision",
    "contains_answer",
    "dcg",
    "dedupe",
    "hit_at_k",
    "match_source",
    "mean",
    "ndcg_at_k",
    "normalize_answer",
    "percentile",
    "recall_at_k",
    "reciprocal_rank",
]

Gold = Collection[str] | Mapping[str, float]

_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def _gains(gold: Gold) -> dict[str, float]:
    """Gold documents as id -> gain (a plain collection gives each a gain of 1); zero or negative gains dropped."""
    if isinstance(gold, Mapping):
        return {doc: float(g) for doc, g in gold.items() if g > 0}
    return {doc: 1.0 for doc in gold}


def dedupe(ranked: Iterable[str | None]) -> list[str | None]:
    """Keep each id's first occurrence, in order (None entries, unmatched hits, are kept as rank fillers)."""
    seen: set[str] = set()
    out: list[str | None] = []
    for doc in ranked:
        if doc is None:
            out.append(None)
        elif doc not in seen:
            seen.add(doc)
            out.append(doc)
    return out


def hit_at_k(ranked: Sequence[str | None], gold: Gold, k: int) -> float:
    """1.0 if any gold document is among the first k ranked, else 0.0."""
    gains = _gains(gold)
    return 1.0 if any(doc in gains for doc in dedupe(ranked)[:k]) else 0.0


def recall_at_k(ranked: Sequence[str | None], gold: Gold, k: int) -> float:
    """Fraction of the gold documents found among the first k ranked (0.0 when there are no gold documents)."""
    gains = _gains(gold)
    if not gains:
        return 0.0
    return sum(1 for doc in dedupe(ranked)[:k] if doc in gains) / len(gains)


def reciprocal_rank(ranked: Sequence[str | None], gold: Gold, k: int | None = None) -> float:
    """1 / rank of the first gold document (within the first k if given), 0.0 if none; its mean is MRR."""
    gains = _gains(gold)
    for rank, doc in enumerate(dedupe(ranked)[:k], start=1):
        if doc in gains:
            return 1.0 / rank
    return 0.0


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains listed in rank order: sum of gain / log2(rank + 1)."""
    return sum(g / math.log2(rank + 1) for rank, g in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str | None], gold: Gold, k: int) -> float:
    """nDCG@k with linear gains (as trec_eval/BEIR): DCG of the first k ranked over the DCG of the ideal order.

    Documents with equal gain are interchangeable, so ties in the ideal order don't matter. 0.0 with no gold."""
    gains = _gains(gold)
    ideal = dcg(sorted(gains.values(), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    got = [gains.get(doc, 0.0) if doc is not None else 0.0 for doc in dedupe(ranked)[:k]]
    return dcg(got) / ideal


def match_source(source: str, gold: Iterable[str]) -> str | None:
    """The gold entry that names `source`, else None.

    A gold entry names a source when equal to it, when it is a path suffix of it at a `/` boundary
    (`"docs/api.md"` names `"ollama_docs/docs/api.md"`), or the same without the file extension (`"4983"` names
    `"scifact/4983.txt"`). Backslashes count as `/`."""
    src = source.replace("\\", "/")
    stem = splitext(src)[0]
    for entry in gold:
        want = entry.replace("\\", "/").strip("/")
        if not want:
            continue
        for candidate in (src, stem):
            if candidate == want or candidate.endswith("/" + want):
                return entry
    return None


def normalize_answer(text: str) -> str:
    """Text reduced for answer matching: NFKC, casefold, punctuation and symbols dropped, English articles
    (a/an/the) dropped, all whitespace removed. Works the same for Chinese (full-width punctuation goes too).

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    >>> normalize_answer("“北京”，中国。")
    '北京中国'
    """
    return _ARTICLES.sub(" ", normalize(text, strip_punct=True)).replace(" ", "")


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """True if any gold answer, normalised, occurs in the normalised text (answers that normalise to "" never match)."""
    haystack = normalize_answer(text)
    return any(needle and needle in haystack for needle in map(normalize_answer, answers))


def citation_precision(
    cited: Sequence[tuple[str, str]], gold_sources: Iterable[str] = (), answers: Iterable[str] = ()
) -> float | None:
    """Fraction of citations that are right: the cited chunk (source, text) comes from a gold source or contains a
    gold answer. None when nothing was cited (precision is undefined, not zero)."""
    if not cited:
        return None
    sources, answers = list(gold_sources), list(answers)
    good = sum(
        1 for source, text in cited if match_source(source, sources) is not None or contains_answer(text, answers)
    )
    return good / len(cited)


def abstention_accuracy(abstained: Sequence[bool], answerable: Sequence[bool]) -> float | None:
    """Among the unanswerable questions (answerable False), the fraction where the system abstained.
    None when there are no unanswerable questions."""
    if len(abstained) != len(answerable):
        raise ValueError("abstained and answerable must have the same length")
    picked = [a for a, ok in zip(abstained, answerable, strict=False) if not ok]
    return sum(picked) / len(picked) if picked else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default); None if empty."""
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    data = sorted(values)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    """Arithmetic mean of the values that are not None; None if there are none."""
    data = [v for v in values if v is not None]
    return sum(data) / len(data) if data else None
