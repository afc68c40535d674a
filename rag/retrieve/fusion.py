"""Fusing ranked lists and diversifying them: reciprocal rank fusion and maximal marginal relevance."""
from __future__ import annotations

from collections.abc import Sequence

from rag.retrieve.text import tokenize


def rrf(rankings: Sequence[Sequence[str]], k: int) -> dict[str, float]:
    """Reciprocal rank fusion: score(id) = sum over rankings of 1 / (k + rank), rank 1-based."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (k + rank)
    return fused


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


__all__ = ["mmr", "rrf"]
