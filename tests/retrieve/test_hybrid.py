"""rag.retrieve.hybrid: fusion, MMR and filters (pure parts); end-to-end retrieval over a real index further below."""

from __future__ import annotations

import pytest

from rag.retrieve.fusion import mmr, rrf
from rag.retrieve.hybrid import matches_path


def test_rrf_rewards_agreement_between_legs() -> None:
    fused = rrf([["a", "b", "c"], ["b", "d"]], 60)
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert max(fused, key=fused.get) == "b"
    assert fused["a"] == pytest.approx(1 / 61) and fused["d"] == pytest.approx(1 / 62)


def test_rrf_with_one_empty_leg_keeps_the_other_order() -> None:
    fused = rrf([[], ["x", "y", "z"]], 60)
    assert sorted(fused, key=fused.get, reverse=True) == ["x", "y", "z"]


def test_mmr_skips_near_duplicates() -> None:
    texts = {
        "a": "ollama embed endpoint vectors",
        "b": "ollama embed endpoint vectors list",
        "c": "chat streaming final timings",
    }
    ranked = [("a", 1.0), ("b", 0.95), ("c", 0.5)]
    assert mmr(ranked, texts, 2, 1.0) == ["a", "b"]
    assert mmr(ranked, texts, 2, 0.5) == ["a", "c"]


def test_matches_path_against_source_and_relative_path() -> None:
    assert matches_path("docs/manual.pdf", "*.pdf")
    assert matches_path("docs/guide/intro.md", "guide/*")
    assert matches_path("docs/guide/intro.md", "docs/guide/*.md")
    assert not matches_path("docs/guide/intro.md", "*.pdf")


# ---- end to end over a real index (fake Ollama embeddings over real sockets, real Chroma) ----------------------

import numpy as np

from rag import RAG
from support.hits import write_docs


@pytest.fixture
def rag(tmp_path, ollama):
    docs = tmp_path / "docs"
    write_docs(docs)
    instance = RAG(index_dir=tmp_path / "index")
    instance.index(docs)
    yield instance
    instance.close()


def test_hybrid_hits_carry_both_scores_and_ranks(rag) -> None:
    hits = rag.retrieve("What does the embed endpoint return?", k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].source == "docs/api.md" and "embed endpoint" in hits[0].text
    assert hits[0].dense_score is not None and hits[0].bm25_score is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_single_leg_modes_leave_the_other_score_empty(rag) -> None:
    assert all(h.dense_score is None and h.bm25_score is not None for h in rag.retrieve("embed vectors", mode="bm25"))
    assert all(h.bm25_score is None and h.dense_score is not None for h in rag.retrieve("embed vectors", mode="dense"))
    with pytest.raises(ValueError):
        rag.retrieve("x", mode="sparse")


def test_filters_apply_to_both_legs(rag) -> None:
    for mode in ("hybrid", "dense", "bm25"):
        text_hits = rag.retrieve("embed endpoint vectors context window", k=5, mode=mode, file_types="text")
        assert text_hits and {h.source for h in text_hits} == {"docs/notes.txt"}
        zh = rag.retrieve("embed endpoint 嵌入接口", k=5, mode=mode, path="zh/*")
        assert zh and {h.source for h in zh} == {"docs/zh/指南.md"}
    assert rag.retrieve("embed", path="nothing/*") == []


def test_chinese_question_finds_the_chinese_chunk_through_bm25_bigrams(rag) -> None:
    question = "嵌入接口返回什么？"
    bm25_top = rag.retrieve(question, k=1, mode="bm25")[0]
    assert bm25_top.source == "docs/zh/指南.md" and "嵌入接口" in bm25_top.text
    hybrid = rag.retrieve(question, k=3)
    assert bm25_top.id in [h.id for h in hybrid]


def test_dense_hits_missing_from_the_catalog_are_dropped(rag, tmp_path) -> None:
    from ingest.chunking import Chunk
    from rag.store.chroma import ChromaStore

    question = "What does the embed endpoint return?"
    top = rag.retrieve(question, k=1, mode="dense")[0]
    store = ChromaStore(tmp_path / "index", None, "default")
    ghost = Chunk(
        id="f" * 32,
        text=top.text,
        source="docs/ghost.md",
        ordinal=0,
        char_start=0,
        char_end=len(top.text),
        page_start=None,
        page_end=None,
        heading_path=(),
        file_sha256="0" * 64,
    )
    vector = rag._query_engine.retriever._embed_query(question)  # the query's own vector: the nearest possible
    store.upsert([ghost], [np.asarray(vector, dtype=np.float32)], ["markdown"])
    assert "f" * 32 in {cid for cid, _ in store.query(vector, 3)}
    assert all(h.id != "f" * 32 for h in rag.retrieve(question, k=5, mode="dense"))


def test_bm25_index_is_rebuilt_after_the_catalog_changes(rag, tmp_path) -> None:
    assert rag.retrieve("zebra", mode="bm25") == []
    (tmp_path / "docs" / "zoo.md").write_text("# Zoo\n\nA zebra lives here.\n", encoding="utf-8")
    rag.index(tmp_path / "docs")
    assert rag.retrieve("zebra", mode="bm25")[0].source == "docs/zoo.md"


def test_bm25_bigrams_rescue_a_chinese_question_that_dense_retrieval_misses(tmp_path, ollama) -> None:
    docs = tmp_path / "zh"
    docs.mkdir()
    (docs / "target.md").write_text("嵌入接口返回向量列表，每个输入一个向量。", encoding="utf-8")
    # The question's characters, scrambled: close for character features, no shared bigram.
    (docs / "decoy.md").write_text("口接入嵌回返么什。" * 3, encoding="utf-8")
    (docs / "other.md").write_text("聊天接口以流的形式返回消息，最后一行包含耗时统计。", encoding="utf-8")
    with RAG(index_dir=tmp_path / "index") as rag:
        rag.index(docs)
        question = "嵌入接口返回什么"
        assert rag.retrieve(question, k=1, mode="dense")[0].source == "zh/decoy.md"  # dense alone misses
        assert rag.retrieve(question, k=1, mode="bm25")[0].source == "zh/target.md"
        assert rag.retrieve(question, k=1)[0].source == "zh/target.md"
