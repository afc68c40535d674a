"""Combining the dense and BM25 legs, and dropping near-duplicate hits before the k are chosen.

Three fusions: reciprocal rank fusion ("rrf", ranks only) and score fusion, where each leg's scores are normalised
over its own candidates and summed with weights: "zscore" (standard scores; a candidate a leg did not return gets
that leg's lowest) or "minmax" (scaled to [0, 1]; a missing candidate gets 0). Score fusion keeps how far apart the
candidates are, which ranks throw away; BENCHMARKS.md "## Retrieval" has the measurements behind the default.
Before fusion the dense leg can be re-scored by each candidate's best sentence (`with_best_sentences`).

    >>> rrf([["a", "b"], ["b", "c"]], 10)["b"] > rrf([["a", "b"], ["b", "c"]], 10)["a"]
    True
    >>> dense, sparse = [("a", 0.9), ("b", 0.5)], [("b", 12.0), ("c", 3.0)]
    >>> sorted(score_fusion(dense, sparse, dense_weight=0.5, norm="minmax").items())
    [('a', 0.5), ('b', 0.5), ('c', 0.0)]
    >>> sorted(score_fusion(dense, sparse, dense_weight=0.5).items())
    [('a', 0.0), ('b', 0.0), ('c', -1.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import numpy as np

from rag.retrieve.text import is_cjk, tokenize

Norm = Literal["zscore", "minmax"]
NEAR_DUPLICATE_JACCARD = 0.8
"""Two hits whose token sets overlap this much (Jaccard) are near-duplicates: the lower-ranked one is dropped."""


def rrf(rankings: Sequence[Sequence[str]], k: int) -> dict[str, float]:
    """Reciprocal rank fusion: score(id) = sum over rankings of 1 / (k + rank), rank 1-based."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused


def _normalised(leg: Sequence[tuple[str, float]], norm: Norm) -> tuple[dict[str, float], float]:
    """A leg's scores normalised over its candidates, and the value for a candidate it did not return."""
    if not leg:
        return {}, 0.0
    scores = [s for _, s in leg]
    if norm == "minmax":
        hi, lo = max(scores), min(scores)
        return {cid: (s - lo) / (hi - lo) if hi > lo else 1.0 for cid, s in leg}, 0.0
    mean = sum(scores) / len(scores)
    sd = (sum((s - mean) ** 2 for s in scores) / len(scores)) ** 0.5 or 1.0
    z = {cid: (s - mean) / sd for cid, s in leg}
    return z, min(z.values())


def score_fusion(
    dense: Sequence[tuple[str, float]],
    sparse: Sequence[tuple[str, float]],
    *,
    dense_weight: float,
    norm: Norm = "zscore",
) -> dict[str, float]:
    """dense_weight * norm(dense) + (1 - dense_weight) * norm(BM25), over the union of candidates.

    Args:
        dense: (id, cosine similarity) pairs; sparse: (id, BM25 score) pairs.
        dense_weight: in [0, 1]; when only one leg returned anything it gets the whole weight.
        norm: "zscore" (a missing candidate gets the leg's lowest) or "minmax" (a missing candidate gets 0).
    """
    if not 0.0 <= dense_weight <= 1.0:
        raise ValueError(f"dense_weight must be in [0, 1], not {dense_weight}")
    if not dense or not sparse:
        dense_weight = 1.0 if dense else 0.0
    (a, a_missing), (b, b_missing) = _normalised(dense, norm), _normalised(sparse, norm)
    return {
        cid: round(dense_weight * a.get(cid, a_missing) + (1.0 - dense_weight) * b.get(cid, b_missing), 9)
        for cid in a.keys() | b.keys()
    }


def dense_weight_for(query: str, base: float, *, multilingual: bool, cjk_weight: float) -> float:
    """The dense leg's weight for this query: `cjk_weight` for a Han/Kana query when the embedder is not
    multilingual (an English-only model embeds Chinese poorly), else `base`."""
    return cjk_weight if (not multilingual and is_cjk(query)) else base


def with_best_sentences(
    dense: Sequence[tuple[str, float]],
    others: Iterable[str],
    sentences: Mapping[str, np.ndarray],
    query: np.ndarray,
    *,
    weight: float,
    n: int,
) -> list[tuple[str, float]]:
    """The dense leg re-scored: `(1 - weight) x` a candidate's chunk cosine `+ weight x` its best sentence's cosine.

    `dense`: (id, chunk cosine) of the dense leg; `others`: the other leg's candidates, which join with the dense
    leg's lowest cosine as their chunk part when they have sentence vectors; `sentences`: (m, dim) unit vectors by id
    (a chunk without them counts its chunk cosine twice). The best `n`, best first."""
    if not dense:
        return []
    own = dict(dense)
    low = min(own.values())
    scored = []
    for cid in dict.fromkeys([*own, *others]):
        rows = sentences.get(cid)
        if cid not in own and rows is None:
            continue
        chunk = own.get(cid, low)
        best = float(np.max(rows @ query)) if rows is not None else chunk
        scored.append((cid, (1.0 - weight) * chunk + weight * best))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:n]


def collapse(
    order: Sequence[str],
    spans: dict[str, tuple[str, int, int]],
    texts: dict[str, str],
    k: int,
    *,
    jaccard: float = NEAR_DUPLICATE_JACCARD,
) -> list[str]:
    """The first `k` ids of `order` with near-duplicates of a better-ranked id dropped.

    A near-duplicate is a chunk of the same source whose character span overlaps the better one's, or any chunk
    whose word-pair shingles have Jaccard similarity >= `jaccard` with it (the same text in two files; pairs keep
    the word order, so two texts that merely share a vocabulary are not duplicates).

    Args:
        order: ids best first; spans: id -> (source, char_start, char_end); texts: id -> text.
    """
    kept: list[str] = []
    kept_tokens: list[set[str]] = []
    for cid in order:
        if len(kept) >= k:
            break
        source, start, end = spans[cid]
        if any(spans[o][0] == source and spans[o][1] < end and start < spans[o][2] for o in kept):
            continue
        tokens = _shingles(texts[cid])
        if any(_jaccard(tokens, other) >= jaccard for other in kept_tokens):
            continue
        kept.append(cid)
        kept_tokens.append(tokens)
    return kept


def _shingles(text: str) -> set[str]:
    """Consecutive token pairs of `text` (its single token when it has one)."""
    words = tokenize(text)
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)} or set(words)


def mmr(candidates: Sequence[tuple[str, float]], texts: dict[str, str], k: int, lam: float) -> list[str]:
    """Maximal marginal relevance over (id, relevance) pairs, similarity = Jaccard of token sets."""
    if not candidates:
        return []
    top = max(score for _, score in candidates) or 1.0
    tokens = {cid: set(tokenize(texts[cid])) for cid, _ in candidates}
    chosen: list[str] = []
    pool = dict(candidates)
    while pool and len(chosen) < k:

        def gain(cid: str) -> float:
            redundancy = max((_jaccard(tokens[cid], tokens[c]) for c in chosen), default=0.0)
            return lam * pool[cid] / top - (1.0 - lam) * redundancy

        best = max(pool, key=gain)
        chosen.append(best)
        del pool[best]
    return chosen


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


__all__ = [
    "NEAR_DUPLICATE_JACCARD",
    "Norm",
    "collapse",
    "dense_weight_for",
    "mmr",
    "rrf",
    "score_fusion",
    "with_best_sentences",
]
