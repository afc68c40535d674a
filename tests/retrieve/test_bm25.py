"""rag.retrieve.bm25: ranking, filters, persistence keyed by the catalog generation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rag.retrieve import bm25

DOCS = [
    ("a", "The embed endpoint returns a list of vectors.", "docs/api.md"),
    ("b", "Chat streams messages; the final object has timings.", "docs/api.md"),
    ("c", "Models are pulled with ollama pull and listed with tags.", "docs/models.md"),
    ("d", "向量数据库保存嵌入向量。", "docs/zh.md"),
    ("e", "聊天接口返回消息。", "docs/zh.md"),
]


class _Catalog:
    """The two catalog methods load_or_build uses, over a list, counting full scans."""

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        self.rows, self.gen, self.scans = list(rows), 1, 0

    def iter_chunks(self):
        self.scans += 1
        return iter(self.rows)

    def generation(self) -> int:
        return self.gen


def test_best_match_ranks_first_and_scores_are_positive() -> None:
    index = bm25.build(DOCS)
    hits = index.search("what does the embed endpoint return", 3)
    assert hits[0][0] == "a"
    assert all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_score_matches_the_okapi_formula() -> None:
    index = bm25.build(DOCS)
    ((cid, score),) = index.search("vectors", 1)
    tokens = [bm25.bm25_tokens(t) for _, t, _ in DOCS]
    avgdl = sum(map(len, tokens)) / len(tokens)
    df = sum("vector" in t for t in tokens)
    tf = tokens[0].count("vector")
    idf = math.log(1 + (len(DOCS) - df + 0.5) / (df + 0.5))
    expected = idf * tf * (bm25.K1 + 1) / (tf + bm25.K1 * (1 - bm25.B + bm25.B * len(tokens[0]) / avgdl))
    assert cid == "a" and score == pytest.approx(expected, rel=1e-5)


def test_chinese_query_matches_by_bigrams() -> None:
    index = bm25.build(DOCS)
    assert index.search("嵌入向量存在哪里？", 2)[0][0] == "d"
    assert index.search("聊天返回什么", 1)[0][0] == "e"


def test_unknown_terms_and_k_zero_give_nothing() -> None:
    index = bm25.build(DOCS)
    assert index.search("zebra", 5) == []
    assert index.search("embed", 0) == []
    assert bm25.build([]).search("embed", 3) == []


def test_allowed_ids_restrict_candidates() -> None:
    index = bm25.build(DOCS)
    assert [cid for cid, _ in index.search("ollama chat embed", 5, allowed_ids=["b", "c", "zzz"])] in (
        ["b", "c"],
        ["c", "b"],
    )
    assert index.search("embed", 5, allowed_ids=[]) == []


def test_k_limits_and_ties_break_by_document_order() -> None:
    rows = [(f"id{i}", "same words here", "x") for i in range(10)]
    hits = bm25.build(rows).search("words", 4)
    assert [cid for cid, _ in hits] == ["id0", "id1", "id2", "id3"]


def test_load_or_build_persists_and_rebuilds_only_on_new_generation(tmp_path: Path) -> None:
    catalog = _Catalog(DOCS)
    stem = tmp_path / "default.bm25"
    first = bm25.load_or_build(catalog, stem)
    assert (
        catalog.scans == 1
        and list(tmp_path.glob("default.bm25.seg-*.npz"))
        and (tmp_path / "default.bm25.json").exists()
    )
    again = bm25.load_or_build(catalog, stem)
    assert catalog.scans == 1, "same generation: loaded from disk, not rebuilt"
    assert again.search("embed", 3) == first.search("embed", 3)
    catalog.rows.append(("f", "A brand new zebra document.", "docs/new.md"))
    catalog.gen = 2
    rebuilt = bm25.load_or_build(catalog, stem)
    assert catalog.scans == 2 and rebuilt.generation == 2
    assert rebuilt.search("zebra", 1)[0][0] == "f"


def test_torn_or_foreign_files_are_ignored(tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    bm25.save(bm25.build(DOCS, generation=3), stem)
    assert bm25.load(stem) is not None
    (tmp_path / "c.bm25.json").write_text("{not json", encoding="utf-8")
    assert bm25.load(stem) is None
    bm25.save(bm25.build(DOCS, generation=3), stem)
    bm25.save(bm25.build(DOCS[:2], generation=4), tmp_path / "other.bm25")
    (mine,), (theirs,) = tmp_path.glob("c.bm25.seg-*.npz"), tmp_path.glob("other.bm25.seg-*.npz")
    theirs.replace(mine)  # a segment of another index under this one's name
    assert bm25.load(stem) is None
