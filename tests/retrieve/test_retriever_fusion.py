"""Retriever wiring: the shipped fusion, the CJK dense weight chosen from the embedder, near-duplicate collapse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import Chunk
from rag.retrieve.fusion import score_fusion
from rag.retrieve.hybrid import Retriever
from rag.store.catalog import Catalog, FileRecord

TEXTS = {
    "zh/a.md": ["向量数据库保存嵌入向量。"],
    "zh/b.md": ["聊天接口返回消息，嵌入接口返回向量。"],
    "zh/c.md": ["模型列表。"],
}


def _catalog(path: Path, texts: dict[str, list[str]]) -> Catalog:
    catalog = Catalog(path)
    for source, parts in texts.items():
        chunks, pos = [], 0
        for n, text in enumerate(parts):
            chunks.append(
                Chunk(
                    id=f"{source}#{n}",
                    text=text,
                    source=source,
                    ordinal=n,
                    char_start=pos,
                    char_end=pos + len(text),
                    page_start=None,
                    page_end=None,
                    heading_path=(),
                    file_sha256="0" * 64,
                )
            )
            pos += len(text) - 2  # consecutive chunks overlap, like the chunker's
        catalog.commit_files(
            [
                (
                    FileRecord(
                        source=source,
                        root="/r",
                        size=pos,
                        mtime_ns=0,
                        sha256="0" * 64,
                        kind="markdown",
                        chunks=len(chunks),
                    ),
                    chunks,
                )
            ]
        )
    return catalog


def _retriever(catalog: Catalog, tmp_path: Path, dense: dict[str, float], **kwargs: object) -> Retriever:
    def query_dense(vector: np.ndarray, n: int, where: object) -> list[tuple[str, float]]:
        return sorted(((cid, 1.0 - sim) for cid, sim in dense.items()), key=lambda x: x[1])[:n]

    return Retriever(
        catalog,
        query_dense=query_dense,
        embed_query=lambda q: np.zeros(3, np.float32),
        bm25_path=tmp_path / "c.bm25",
        **kwargs,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("multilingual, weight", [(False, 0.2), (True, 0.5)])
def test_a_chinese_query_weights_the_dense_leg_by_what_the_embedder_can_do(
    tmp_path: Path, multilingual: bool, weight: float
) -> None:
    dense = {"zh/a.md#0": 0.95, "zh/c.md#0": 0.9, "zh/b.md#0": 0.1}  # the dense leg is wrong here
    with _catalog(tmp_path / "cat.sqlite3", TEXTS) as catalog:
        retriever = _retriever(
            catalog, tmp_path, dense, fusion="zscore", dense_weight=0.5, dense_weight_cjk=0.2, multilingual=multilingual
        )
        question = "嵌入接口返回什么？"
        hits = retriever.retrieve(question, k=3)
        sparse = retriever.bm25().search(question, 20)
        expected = score_fusion(list(dense.items()), sparse, dense_weight=weight)
        assert [h.id for h in hits] == sorted(expected, key=lambda c: (-expected[c], c))
        assert [h.score for h in hits] == pytest.approx(sorted(expected.values(), reverse=True))
    assert (hits[0].id == "zh/b.md#0") is (not multilingual), "BM25's pick wins only when dense is down-weighted"


def test_english_query_keeps_the_base_weight_and_the_model_comes_from_the_manifest(tmp_path: Path) -> None:
    with _catalog(tmp_path / "cat.sqlite3", {"en/a.md": ["embed returns vectors"], "en/b.md": ["chat"]}) as catalog:
        retriever = _retriever(catalog, tmp_path, {"en/a.md#0": 0.9, "en/b.md#0": 0.2})
        assert retriever.multilingual() is False, "no manifest: not known to be multilingual"
        assert [h.id for h in retriever.retrieve("what does embed return", k=2)] == ["en/a.md#0", "en/b.md#0"]


def test_overlapping_chunks_of_one_file_take_one_slot(tmp_path: Path) -> None:
    texts = {"d/a.md": ["alpha beta gamma delta one", "delta one epsilon zeta"], "d/b.md": ["alpha other words"]}
    dense = {"d/a.md#0": 0.9, "d/a.md#1": 0.85, "d/b.md#0": 0.5}
    with _catalog(tmp_path / "cat.sqlite3", texts) as catalog:
        on = _retriever(catalog, tmp_path, dense, collapse=True).retrieve("alpha delta", k=2)
        off = _retriever(catalog, tmp_path, dense, collapse=False).retrieve("alpha delta", k=2)
    assert [h.source for h in off] == ["d/a.md", "d/a.md"]
    assert [h.source for h in on] == ["d/a.md", "d/b.md"]
