"""Sentence vectors: int8 bytes round trip, the catalog's table (replaced, removed and reset with their chunks),
Chroma metadata only on a server, and a catalog from before them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import Chunk
from rag.store import sentence_vectors as sv
from rag.store.catalog import Catalog, FileRecord
from rag.store.chroma import ChromaStore


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_int8_round_trip_keeps_every_cosine_within_a_hundredth() -> None:
    rows, query = _unit(5, 384, 1), _unit(1, 384, 2)[0]
    blob = sv.quantize(rows)
    assert len(blob) == 5 * 384
    back = sv.unpack(blob, 384)
    assert back is not None and back.shape == (5, 384) and back.dtype == np.float32
    assert np.abs(back @ query - rows @ query).max() < 0.01
    assert sv.unpack(sv.from_metadata(sv.to_metadata(blob, 384)), 384) == pytest.approx(back)


@pytest.mark.parametrize("value", [None, 3, "", "384", "x:AAAA", "3:!!!!", "0:AAAA", "3:", "2:AAAA"])
def test_a_missing_or_malformed_metadata_value_reads_as_none(value: object) -> None:
    assert sv.from_metadata(value) is None  # "AAAA" is 3 bytes: not whole rows of 2
    assert sv.from_metadata("3:AAAA") == b"\x00\x00\x00"


def test_bytes_that_are_not_whole_rows_read_as_none() -> None:
    assert sv.unpack(b"", 3) is None and sv.unpack(b"\x01\x02", 3) is None and sv.unpack(b"\x01", 0) is None


def _chunk(source: str, n: int) -> Chunk:
    text = f"Sentence one of {source} {n}. Sentence two of {n}."
    return Chunk(f"{source}#{n}", text, source, n, 0, len(text), None, None, (), "0" * 64)


def _record(source: str, chunks: int) -> FileRecord:
    return FileRecord(source=source, root="/r", size=1, mtime_ns=0, sha256="0" * 64, kind="markdown", chunks=chunks)


def test_the_catalog_keeps_them_with_their_chunks(tmp_path: Path) -> None:
    a0, a1, b0 = _chunk("d/a.md", 0), _chunk("d/a.md", 1), _chunk("d/b.md", 0)
    rows = {c.id: _unit(2, 8, i) for i, c in enumerate((a0, a1, b0))}
    with Catalog(tmp_path / "c.sqlite") as cat:
        cat.commit_files(
            [(_record("d/a.md", 2), [a0, a1]), (_record("d/b.md", 1), [b0])],
            sentences={cid: sv.quantize(r) for cid, r in rows.items()},
        )
        found = cat.sentence_vectors([a0.id, b0.id, "unknown"], 8)
        assert set(found) == {a0.id, b0.id} and found[a0.id] == pytest.approx(rows[a0.id], abs=0.01)
        cat.commit_files([(_record("d/a.md", 1), [a0])])  # a1 left the file; a0 unchanged, sent without vectors
        assert set(cat.sentence_vectors([a0.id, a1.id], 8)) == {a0.id}, "a kept chunk keeps them, a gone one not"
        cat.remove_files(["d/b.md"])
        assert cat.sentence_vectors([b0.id], 8) == {}
        cat.reset()
        assert cat.sentence_vectors([a0.id], 8) == {}


def test_a_catalog_from_before_sentence_vectors_reads_none_and_gets_the_table_when_written(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with Catalog(path) as cat:
        cat.commit_files([(_record("d/a.md", 1), [_chunk("d/a.md", 0)])])
    db = sqlite3.connect(path)
    db.execute("DROP TABLE sentences")
    db.commit()
    db.close()
    with Catalog(path, create=False) as reader:
        assert reader.sentence_vectors(["d/a.md#0"], 8) == {}
        assert reader.get_chunks(["d/a.md#0"])
    with Catalog(path) as writer:
        writer.commit_files([(_record("d/a.md", 1), [_chunk("d/a.md", 0)])], sentences={"d/a.md#0": b"\x01" * 8})
        assert set(writer.sentence_vectors(["d/a.md#0"], 8)) == {"d/a.md#0"}


def test_embedded_chroma_does_not_store_them_in_metadata(tmp_path: Path) -> None:
    with ChromaStore(tmp_path, None, "sentences") as store:
        store.upsert([_chunk("d/a.md", 0)], list(_unit(1, 8, 4)), ["markdown"], [sv.quantize(_unit(2, 8, 5))])
        (meta,) = store.rows_by_id(["d/a.md#0"])["metadatas"]
        assert sv.FIELD not in meta
        with pytest.raises(ValueError, match="same length"):
            store.upsert([_chunk("d/a.md", 1)], list(_unit(1, 8, 5)), ["markdown"], [])


@pytest.mark.chroma_server
def test_a_chroma_server_stores_them_in_metadata(chroma_url: str, tmp_path: Path) -> None:
    blob = sv.quantize(_unit(2, 8, 5))
    with ChromaStore(tmp_path, chroma_url, "sentences-meta") as store:
        store.upsert([_chunk("d/a.md", 0), _chunk("d/a.md", 1)], list(_unit(2, 8, 4)), ["markdown"] * 2, [blob, None])
        metas = store.rows_by_id(["d/a.md#0", "d/a.md#1"])
        by_id = dict(zip(metas["ids"], metas["metadatas"], strict=True))
        assert sv.from_metadata(by_id["d/a.md#0"][sv.FIELD]) == blob and sv.FIELD not in by_id["d/a.md#1"]
