"""A candidate found by its best sentence: the dense leg re-scored from stored sentence vectors, in the Retriever."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from retrieve.test_retriever_fusion import _catalog

from rag.retrieve.fusion import with_best_sentences
from rag.retrieve.hybrid import Retriever
from rag.store import sentence_vectors
from rag.store.catalog import Catalog

Q = np.array([1.0, 0.0, 0.0], np.float32)
SAME = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)  # its second sentence says what the query asks
OFF = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)


def test_a_chunk_whose_one_sentence_matches_overtakes_a_chunk_that_is_vaguely_similar_throughout() -> None:
    dense = [("vague", 0.6), ("needle", 0.5)]
    scored = with_best_sentences(dense, [], {"needle": SAME, "vague": OFF}, Q, weight=0.5, n=10)
    assert scored == [("needle", pytest.approx(0.75)), ("vague", pytest.approx(0.3))]


def test_without_sentence_vectors_a_chunk_keeps_its_chunk_cosine() -> None:
    scored = with_best_sentences([("a", 0.6), ("b", 0.5)], [], {"b": SAME}, Q, weight=0.5, n=10)
    assert dict(scored) == {"a": pytest.approx(0.6), "b": pytest.approx(0.75)}


def test_the_other_legs_candidates_join_only_with_sentence_vectors_at_the_lowest_chunk_cosine() -> None:
    dense = [("a", 0.6), ("b", 0.2)]
    scored = with_best_sentences(dense, ["b", "bm25-only", "bare"], {"bm25-only": SAME}, Q, weight=0.5, n=10)
    assert dict(scored) == {"a": pytest.approx(0.6), "bm25-only": pytest.approx(0.6), "b": pytest.approx(0.2)}
    assert [cid for cid, _ in with_best_sentences(dense, ["bm25-only"], {"bm25-only": SAME}, Q, weight=0.5, n=1)] == [
        "a"
    ]  # ties break by id; n cuts the list
    assert with_best_sentences([], ["x"], {"x": SAME}, Q, weight=0.5, n=10) == []


def _retriever(catalog: Catalog, tmp_path: Path, **kw: object) -> Retriever:
    dense = {"en/a.md#0": 0.6, "en/b.md#0": 0.5}

    def query_dense(vector: np.ndarray, n: int, where: object) -> list[tuple[str, float]]:
        return sorted(((cid, 1.0 - sim) for cid, sim in dense.items()), key=lambda x: x[1])[:n]

    return Retriever(catalog, query_dense=query_dense, embed_query=lambda q: Q, bm25_path=tmp_path / "c.bm25", **kw)  # type: ignore[arg-type]


EN = {"en/a.md": ["lanterns glow over the harbor"], "en/b.md": ["falcons nest in the quarry"]}


def _with_sentences(catalog: Catalog, rows: dict[str, np.ndarray]) -> None:
    """Store sentence vectors for chunks already in the catalog (re-committing their files unchanged)."""
    files = catalog.files()
    for source, record in files.items():
        chunks = catalog.chunks_of(source)
        blobs = {c.id: sentence_vectors.quantize(rows[c.id]) for c in chunks if c.id in rows}
        catalog.commit_files([(record, chunks)], sentences=blobs)


def test_the_retriever_ranks_by_the_best_sentence_and_reports_the_chunk_cosine(tmp_path: Path) -> None:
    with _catalog(tmp_path / "cat.sqlite3", EN) as catalog:
        before = _retriever(catalog, tmp_path).retrieve("cellar door", k=2)
        _with_sentences(catalog, {"en/b.md#0": SAME, "en/a.md#0": OFF})
        on = _retriever(catalog, tmp_path).retrieve("cellar door", k=2)
        off = _retriever(catalog, tmp_path, sentence_weight=0.0).retrieve("cellar door", k=2)
    assert [h.id for h in before] == [h.id for h in off] == ["en/a.md#0", "en/b.md#0"]
    assert [h.id for h in on] == ["en/b.md#0", "en/a.md#0"]
    assert [h.dense_score for h in on] == pytest.approx([0.5, 0.6]), "the abstention floor reads the chunk cosine"


@pytest.mark.parametrize("multilingual", [False, True])
def test_a_chinese_query_uses_sentences_only_with_a_multilingual_embedder(tmp_path: Path, multilingual: bool) -> None:
    texts = {"zh/a.md": ["向量数据库保存嵌入向量。"], "zh/b.md": ["聊天接口返回消息。"]}
    dense = {"zh/a.md#0": 0.6, "zh/b.md#0": 0.5}

    def query_dense(vector: np.ndarray, n: int, where: object) -> list[tuple[str, float]]:
        return sorted(((cid, 1.0 - sim) for cid, sim in dense.items()), key=lambda x: x[1])[:n]

    with _catalog(tmp_path / "cat.sqlite3", texts) as catalog:
        _with_sentences(catalog, {"zh/b.md#0": SAME, "zh/a.md#0": OFF})
        retriever = Retriever(
            catalog,
            query_dense=query_dense,
            embed_query=lambda q: Q,
            bm25_path=tmp_path / "c.bm25",
            multilingual=multilingual,
        )
        hits = retriever.retrieve("向量是什么", k=2, mode="dense")
    assert (hits[0].id == "zh/b.md#0") is multilingual
