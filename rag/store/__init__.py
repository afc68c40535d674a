"""Where a collection lives and how it is stored: the folder layout, the SQLite catalog (truth for "file is
indexed"), the Chroma vectors, the manifest and the writer lock.

`open_index(settings)` is the one way in: it derives the layout once and opens the catalog and Chroma store on
demand, so callers never re-derive paths. Readers ask `open_reader()`, which answers with the same small interface in
both modes: the local catalog (embedded store) or the server's own chunks (`rag.store.server_catalog`, Chroma
server), so nothing above branches on the mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.config import default_index_dir
from rag.store.layout import IndexLayout, layout

if TYPE_CHECKING:
    from pathlib import Path

    from rag.config import Settings
    from rag.store.catalog import Catalog
    from rag.store.chroma import ChromaStore
    from rag.store.server_catalog import ServerCatalog


@dataclass(frozen=True)
class IndexHandle:
    """One collection's paths, with openers for its catalog and Chroma store."""

    layout: IndexLayout
    """Folder, catalog, BM25, lock and Chroma locations."""

    def open_catalog(self, *, create: bool = True) -> Catalog:
        """The collection's catalog (raises StoreError when `create` is False and there is none)."""
        from rag.store.catalog import Catalog

        return Catalog(self.layout.catalog, create=create, collection=self.layout.collection)

    def open_store(self, *, create: bool = True) -> ChromaStore:
        """The collection's Chroma store (embedded folder or server)."""
        from rag.store.chroma import ChromaStore

        return ChromaStore(self.layout.index_dir, self.layout.chroma_url, self.layout.collection, create=create)

    @property
    def reader_bm25(self) -> Path:
        """BM25 path stem for readers (server readers key theirs on the server's generation, so it has its own)."""
        lay = self.layout
        return lay.home / f"{lay.collection}.server.bm25" if lay.chroma_url else lay.bm25

    def open_reader(self) -> Catalog | ServerCatalog:
        """What readers read chunks from: the catalog (embedded) or the server's collection through a local mirror.

        Raises StoreError when there is no index yet (and, in server mode, when the server is unreachable and no
        local copy exists).
        """
        lay = self.layout
        if not lay.chroma_url:
            return self.open_catalog(create=False)
        from rag.store.server_catalog import MIRROR_SUFFIX, ServerCatalog

        mirror = lay.home / f"{lay.collection}{MIRROR_SUFFIX}"
        reader = ServerCatalog(lay.index_dir, lay.chroma_url, lay.collection, mirror, self.reader_bm25)
        try:
            reader.generation()
        except BaseException:
            reader.close()
            raise
        return reader


def open_index(settings: Settings, collection: str | None = None) -> IndexHandle:
    """The handle of `collection` (default: settings.collection) in the index settings point at."""
    name = collection or settings.collection
    return IndexHandle(layout(settings.index_dir or default_index_dir(), settings.chroma_url, name))


__all__ = ["IndexHandle", "open_index"]
