"""rag.retrieve.bm25 search skips long postings (MaxScore) and still returns exactly the exhaustive top k."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rag.retrieve import bm25
from rag.retrieve.bm25 import BM25Index

COMMON = ["alpha", "beta", "gamma", "delta"]  # in (nearly) every document: postings longer than PRUNE_POSTINGS


class _Counting(BM25Index):
    """Counts the per-candidate lookups, so a test can tell the pruned path ran."""

    lookups = 0

    def _add_for(self, scores: np.ndarray, candidates: np.ndarray, term: str, times: int) -> None:
        type(self).lookups += 1
        super()._add_for(scores, candidates, term, times)


def _rows(n: int, seed: int, start: int = 0) -> list[tuple[str, str, str]]:
    rng = random.Random(seed)
    rare = [f"rare{i}" for i in range(400)]
    rows = []
    for i in range(start, start + n):
        words = [w for w in COMMON if rng.random() < 0.97] + rng.sample(rare, 3) + [f"mid{rng.randrange(8)}"]
        words += rng.choices(COMMON, k=rng.randrange(4))  # uneven tf and lengths: few exact ties
        rng.shuffle(words)
        rows.append((f"c{i}", " ".join(words), f"file{i // 50}"))
    return rows


@pytest.fixture(scope="module")
def index() -> _Counting:
    first = bm25.segment(_rows(bm25.PRUNE_POSTINGS + 900, 1), "a")
    second = bm25.segment(_rows(1200, 2, start=bm25.PRUNE_POSTINGS + 900), "b")
    return _Counting([first, second], dead=range(0, 4000, 7), generation=3)


def _queries(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = rng.sample(COMMON, rng.randrange(1, 4)) + [f"rare{rng.randrange(400)}" for _ in range(rng.randrange(3))]
        words += [f"mid{rng.randrange(8)}"] * rng.randrange(2) + ["alpha"] * rng.randrange(2)  # repeats count twice
        rng.shuffle(words)
        out.append(" ".join(words))
    return out


def test_pruned_search_equals_the_exhaustive_one(index: _Counting) -> None:
    everyone = index.live_ids()  # restricting to every live id takes the exhaustive path: the reference
    _Counting.lookups = 0
    for query in _queries(5, 120):
        for k in (1, 6, 24):
            pruned = index.search(query, k)
            assert pruned == index.search(query, k, allowed_ids=everyone), query
            assert len(pruned) == k
    assert _Counting.lookups > 0  # the pruned path ran: without it this test would compare a path with itself


def test_the_one_document_with_all_its_rare_words_comes_first(index: _Counting) -> None:
    rows = _rows(bm25.PRUNE_POSTINGS + 900, 1) + _rows(1200, 2, start=bm25.PRUNE_POSTINGS + 900)
    dead = {index.ids[n] for n in index.dead}
    for cid, text, _ in rows[1::997]:
        if cid in dead:
            continue
        rare = [w for w in text.split() if w.startswith("rare")]
        hits = index.search(" ".join(COMMON + rare), 24)
        assert hits[0][0] == cid  # no other document has the same three of 400 rare words
        assert not dead & {c for c, _ in hits}
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
