"""Server mode: the same index, status and query checks against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.consistency import assert_consistent
from support.corpus import make_docs, open_rag

pytestmark = pytest.mark.chroma_server


def test_index_sync_and_status_on_a_server(ollama, chroma_url: str, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=4)
    with open_rag(tmp_path / "idx", chroma_url=chroma_url, collection="server-sync") as rag:
        first = rag.index(docs)
        assert first.added == 4 and first.error is None
        ids = assert_consistent(rag)
        ollama.reset()
        assert rag.index(docs).unchanged == 4 and ollama.count("/api/embed") == 0
        (docs / "doc1.txt").unlink()
        assert rag.index(docs).removed == 1
        left = assert_consistent(rag)
        assert left < ids
        status = rag.status()
        assert status.chroma_url == chroma_url and status.chroma_path is None
        assert Path(status.index_dir) == tmp_path / "idx"
        assert Path(status.catalog_dir) == tmp_path / "idx" / "servers" / f"127.0.0.1_{chroma_url.rsplit(':', 1)[1]}"
        col = next(c for c in status.collections if c.name == "server-sync")
        assert col.files == 3 and col.chunks == col.vectors == len(left)
    assert not (tmp_path / "idx" / "chroma").exists()  # nothing embedded was created


def test_query_on_a_server_finds_the_indexed_text(ollama, chroma_url: str, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    (docs / "needle.md").write_text(
        "# Zebra\n\nThe zebra crossing protocol uses quartz semaphores.\n", encoding="utf-8"
    )
    with open_rag(tmp_path / "idx", chroma_url=chroma_url, collection="server-query") as rag:
        rag.index(docs)
        from rag.embed import open_embedder
        from rag.store.chroma import ChromaStore
        from rag.store.layout import layout

        lay = layout(rag.settings.index_dir, chroma_url, "server-query")
        store = ChromaStore(lay.index_dir, chroma_url, "server-query", create=False)
        vector = open_embedder("all-minilm", backend="ollama", client=rag.client).embed_query("zebra quartz semaphores")
        (best, distance), *_ = store.query(vector, 3)
        from rag.store.catalog import Catalog

        with Catalog(lay.catalog, create=False) as cat:
            assert cat.get_chunks([best])[best].source == "docs/needle.md"
        assert distance < 1.0
