"""Checks that a stored index is consistent: catalog, Chroma and BM25 agree, every file once."""

from __future__ import annotations

from pathlib import Path

from rag import RAG
from rag.store import generation as builds
from rag.store.catalog import Catalog
from rag.store.chroma import ChromaStore
from rag.store.layout import layout


def stored_ids(rag: RAG) -> tuple[set[str], set[str]]:
    """(catalog chunk ids, Chroma ids) of the RAG's collection."""
    lay = layout(rag.settings.index_dir, rag.settings.chroma_url, rag.settings.collection)
    with Catalog(lay.catalog, create=False) as cat:
        catalog_ids = cat.chunk_ids()
    return catalog_ids, ChromaStore(lay.index_dir, lay.chroma_url, lay.collection, create=False).all_ids()


def texts_embedded(rag: RAG, ids: set[str]) -> int:
    """How many texts indexing these chunks sends to the embedder: each chunk and its sentences
    (`ingest.sentences.sentence_texts`, with `sentence_vectors` on)."""
    from ingest.sentences import sentence_texts

    lay = layout(rag.settings.index_dir, rag.settings.chroma_url, rag.settings.collection)
    with Catalog(lay.catalog, create=False) as cat:
        chunks = cat.get_chunks(ids)
    per_chunk = (lambda text: 1 + len(sentence_texts(text))) if rag.settings.sentence_vectors else (lambda text: 1)
    return sum(per_chunk(c.text) for c in chunks.values())


def assert_consistent(rag: RAG) -> set[str]:
    catalog_ids, chroma_ids = stored_ids(rag)
    assert catalog_ids == chroma_ids and catalog_ids
    return catalog_ids


def store_state(index_dir: Path, collection: str = "default", chroma_url: str | None = None) -> dict:
    """Everything a consistency check needs: catalog files/chunk ids, Chroma ids, BM25 ids, manifests."""
    lay = layout(index_dir, chroma_url, collection)
    with Catalog(lay.catalog, create=False) as cat:
        files = cat.files()
        chunk_rows = [cid for cid, _, _ in cat.iter_chunks()]
        manifest = cat.manifest()
        generation = cat.generation()
    store = ChromaStore(lay.index_dir, lay.chroma_url, lay.collection, create=False)
    from rag.retrieve.bm25 import load as load_bm25

    side = load_bm25(lay.bm25)
    bm25 = {"generation": side.generation, "ids": side.live_ids()} if side is not None else None
    return {
        "files": files,
        "chunk_rows": chunk_rows,
        "catalog_ids": set(chunk_rows),
        "chroma_ids": store.all_ids(),
        "chroma_count": store.count(),
        "manifest": manifest,
        "chroma_manifest": store.metadata(),
        "generation": generation,
        "bm25": bm25,
        "physical": lay.physical or store.physical,
        "physical_names": store.physical_names(),
        "stale_builds": [] if chroma_url else builds.stale_builds(lay.home, collection),
    }


def assert_consistent_state(state: dict) -> None:
    """Every file once, chunk ids unique, Chroma == catalog, BM25 == catalog at its generation, manifest intact."""
    assert state["files"], "no files in the catalog"
    assert len(state["chunk_rows"]) == len(state["catalog_ids"]), "duplicate chunk rows in the catalog"
    assert sum(r.chunks for r in state["files"].values()) == len(state["chunk_rows"])
    assert not any(r.stale for r in state["files"].values())
    assert state["chroma_ids"] == state["catalog_ids"], (
        f"orphans {len(state['chroma_ids'] - state['catalog_ids'])}, "
        f"missing {len(state['catalog_ids'] - state['chroma_ids'])}"
    )
    assert state["chroma_count"] == len(state["catalog_ids"])
    manifest = state["manifest"]
    assert manifest is not None and manifest.embed_model and manifest.dimension
    bm25 = state["bm25"]
    assert bm25 is not None, "no BM25 side index"
    assert bm25["generation"] == state["generation"], "BM25 side index is behind the catalog"
    assert set(bm25["ids"]) == state["catalog_ids"] and len(bm25["ids"]) == len(state["catalog_ids"])
    assert not state["stale_builds"], f"files of replaced builds left on disk: {state['stale_builds']}"
    assert state["physical_names"] == [state["physical"]], f"Chroma collections left: {state['physical_names']}"
