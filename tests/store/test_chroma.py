"""Chroma store, index layout, writer lock and manifest checks (real Chroma in a temp dir)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import Chunk
from rag.errors import IndexLocked, ManifestMismatch, StoreError
from rag.ollama.models import normalize_model
from rag.store.chroma import ChromaStore, chunk_metadata
from rag.store.layout import catalog_names, layout
from rag.store.lock import WriterLock
from rag.store.manifest import Manifest, check_compatible


def _chunk(i: int, source: str = "docs/a.txt", page: int | None = None) -> Chunk:
    return Chunk(
        id=f"id{i:04d}",
        text=f"chunk number {i}",
        source=source,
        ordinal=i,
        char_start=10 * i,
        char_end=10 * i + 9,
        page_start=page,
        page_end=page,
        heading_path=("Intro", "Part"),
        file_sha256="f" * 64,
    )


def _unit(i: int, dim: int = 8) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i % dim] = 1.0
    v[(i + 1) % dim] = 0.1 * (i // dim)
    return v / np.linalg.norm(v)


@pytest.fixture
def store(tmp_path: Path) -> ChromaStore:
    return ChromaStore(tmp_path / "idx", None, "test-collection")


# -- layout -------------------------------------------------------------------------------------------------


def test_layout_embedded_and_server(tmp_path: Path) -> None:
    emb = layout(tmp_path, None, "default")
    assert emb.home == tmp_path and emb.chroma_dir == tmp_path / "chroma"
    assert emb.catalog == tmp_path / "default.catalog.sqlite" and emb.lock == tmp_path / "write.lock"
    srv = layout(tmp_path, "http://127.0.0.1:8123", "default")
    assert srv.home == tmp_path / "servers" / "127.0.0.1_8123" and srv.chroma_dir is None
    assert srv.catalog.parent == srv.home and srv.lock.parent == srv.home
    (tmp_path / "bbb.catalog.sqlite").touch()
    (tmp_path / "aaa.catalog.sqlite").touch()
    (tmp_path / "a.catalog.sqlite").touch()  # too short for a collection name: not listed
    assert catalog_names(tmp_path) == ["aaa", "bbb"]


# -- writer lock --------------------------------------------------------------------------------------------


def test_lock_no_wait_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "write.lock"
    with WriterLock(path):
        with pytest.raises(IndexLocked, match=r"pid \d+") as err:
            WriterLock(path, no_wait=True).acquire()
        assert "without --no-wait" in str(err.value)
    with WriterLock(path, no_wait=True) as again:  # released: free again
        assert again.held


def test_lock_waits_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "write.lock"
    first = WriterLock(path)
    first.acquire()
    messages: list[str] = []
    acquired = threading.Event()

    def second() -> None:
        with WriterLock(path, on_wait=messages.append):
            acquired.set()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.3)
    assert not acquired.is_set()  # still blocked behind the first writer
    first.release()
    t.join(timeout=5)
    assert acquired.is_set()
    assert len(messages) == 1 and "waiting for another rag index (pid" in messages[0]


# -- Chroma store -------------------------------------------------------------------------------------------


def test_upsert_query_delete_roundtrip(store: ChromaStore) -> None:
    chunks = [_chunk(i, page=None if i % 2 else i) for i in range(20)]
    vectors = [_unit(i) for i in range(20)]
    store.upsert(chunks, vectors, ["text"] * 20)
    assert store.count() == 20 and store.all_ids() == {c.id for c in chunks}
    hits = store.query(vectors[3], 3)
    assert hits[0][0] == "id0003" and hits[0][1] == pytest.approx(0.0, abs=1e-5)  # cosine distance of itself
    assert [d for _, d in hits] == sorted(d for _, d in hits)
    store.delete(["id0003", "id0004", "nope"])
    assert store.count() == 18 and "id0003" not in store.all_ids()
    where = store.query(vectors[5], 5, where={"source": "docs/a.txt"})
    assert len(where) == 5


def test_cosine_space_and_metadata(store: ChromaStore) -> None:
    chunk = _chunk(1, page=None)
    store.upsert([chunk], [np.array([3.0, 4.0, 0, 0, 0, 0, 0, 0], dtype=np.float32)], ["markdown"])
    ((cid, dist),) = store.query(np.array([6.0, 8.0, 0, 0, 0, 0, 0, 0], dtype=np.float32), 1)
    assert cid == chunk.id and dist == pytest.approx(0.0, abs=1e-5)  # same direction, different length
    meta = store._collection.get(ids=[chunk.id], include=["metadatas", "documents"])
    assert meta["documents"] == [chunk.text]
    assert meta["metadatas"][0] == chunk_metadata(chunk, "markdown")
    assert "page_start" not in meta["metadatas"][0] and meta["metadatas"][0]["heading"] == "Intro > Part"
    assert store._collection.configuration["hnsw"]["space"] == "cosine"


def test_writes_are_batched_by_max_batch(store: ChromaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = store._collection.upsert

    def counting(**kw):  # observe the real collection's calls (no fake: the data goes to Chroma)
        calls.append(len(kw["ids"]))
        return real(**kw)

    store._max_batch = 7
    monkeypatch.setattr(store._collection, "upsert", counting)
    store.upsert([_chunk(i) for i in range(20)], [_unit(i) for i in range(20)], ["text"] * 20)
    assert calls == [7, 7, 6] and store.count() == 20


def test_iter_ids_pages(store: ChromaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.store.chroma

    monkeypatch.setattr(rag.store.chroma, "_ID_PAGE", 4)
    store.upsert([_chunk(i) for i in range(10)], [_unit(i) for i in range(10)], ["text"] * 10)
    ids = list(store.iter_ids())
    assert len(ids) == 10 and set(ids) == {f"id{i:04d}" for i in range(10)}


def test_drop_and_missing_collection(tmp_path: Path, store: ChromaStore) -> None:
    store.upsert([_chunk(1)], [_unit(1)], ["text"])
    store.drop()
    assert store.count() == 0
    with pytest.raises(StoreError, match="rag index"):
        ChromaStore(tmp_path / "idx", None, "never-made", create=False)


def test_manifest_mirrored_in_collection_metadata(store: ChromaStore) -> None:
    m = Manifest("all-minilm:latest", 384, None, 200, 30, "1", roots=("/x", "/y"))
    store.write_manifest(m)
    meta = store.metadata()
    assert meta["rag_embed_model"] == "all-minilm:latest" and meta["rag_dimension"] == 384
    assert meta["rag_roots"] == '["/x", "/y"]'


def test_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    from support.paths import free_port

    with pytest.raises(StoreError, match="chroma run"):
        ChromaStore(tmp_path, f"http://127.0.0.1:{free_port()}", "default")


# -- manifest -----------------------------------------------------------------------------------------------


def test_manifest_mismatch_names_both_and_the_fix() -> None:
    stored = Manifest(normalize_model("all-minilm"), 384, None, 200, 30, "1")
    wanted = Manifest(normalize_model("nomic-embed-text"), 768, "nomic", 200, 30, "1")
    with pytest.raises(ManifestMismatch) as err:
        check_compatible(stored, wanted, collection="default")
    text = str(err.value)
    assert "all-minilm:latest" in text and "nomic-embed-text:latest" in text and "--rebuild" in text
    assert "--embed-model all-minilm:latest" in text


def test_manifest_chunker_matters_for_indexing_not_querying() -> None:
    stored = Manifest("m:latest", 8, None, 200, 30, "1")
    wanted = Manifest("m:latest", 8, None, 300, 30, "1")
    with pytest.raises(ManifestMismatch, match="300 tokens") as err:
        check_compatible(stored, wanted, collection="c")
    assert "chunk_tokens=200 and chunk_overlap=30" in str(err.value)
    assert check_compatible(stored, wanted, collection="c", query=True) == []


def test_manifest_digest_change_warns() -> None:
    stored = Manifest("m:latest", 8, None, 200, 30, "1", embed_backend="ollama", embed_digest="a" * 64)
    wanted = Manifest("m:latest", 8, None, 200, 30, "1", embed_backend="ollama", embed_digest="b" * 64)
    (warning,) = check_compatible(stored, wanted, collection="c")
    assert "digest" in warning and "aaaaaaaaaaaa" in warning
    roundtrip = Manifest.from_dict(stored.to_dict())
    assert roundtrip == stored
