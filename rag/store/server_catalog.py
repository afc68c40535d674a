"""A reader's view of a collection on a Chroma server: the same small interface as `Catalog`, backed by the server.

Chunks (text, location, kind) come from the server's documents and metadatas; a local SQLite mirror (a `Catalog`
file in the reader's store home) caches them, synced by chunk-id difference whenever the registry generation
changes, so a question on an unchanged index costs one registry read. BM25 (`rag.retrieve.bm25.load_or_build`) is
built from `iter_chunks()` and keyed by `generation()`. When the server is unreachable and a mirror exists, the mirror
answers (keyword-only) and `offline` says why.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ingest.chunking import Chunk
from rag.errors import StoreError
from rag.store.catalog import Catalog, FileRecord
from rag.store.chroma import ChromaStore, chunk_from_row
from rag.store.chroma_errors import CollectionMissing, StoreUnreachable
from rag.store.manifest import Manifest
from rag.store.ownership import root_name

MIRROR_SUFFIX = ".mirror.sqlite"
OFFLINE_WARNING = "{error} Answering from the local copy of generation {generation} (keyword search only)."


def _open_mirror(path: Path, collection: str) -> Catalog:
    """The mirror catalog at `path`, or in a temporary folder when the store home is not writable."""
    try:
        return Catalog(path, create=True, collection=collection)
    except (StoreError, OSError):
        return Catalog(Path(tempfile.mkdtemp(prefix="rag-mirror-")) / path.name, create=True, collection=collection)


class ServerCatalog:
    """Catalog-like reader of `collection` on the server at `chroma_url` (mirror and state beside `mirror_path`)."""

    def __init__(self, index_dir: Path, chroma_url: str, collection: str, mirror_path: Path) -> None:
        self.index_dir = Path(index_dir)
        self.chroma_url = chroma_url
        self.collection = collection
        self._mirror = _open_mirror(Path(mirror_path), collection)
        self._state_path = self._mirror.path.with_name(self._mirror.path.name + ".json")
        self._state = self._load_state()
        self._store: ChromaStore | None = None
        self._lock = threading.RLock()
        self.offline: str | None = None
        """Why the server could not be read on the last check (None: it answered)."""

    # -- state ----------------------------------------------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        try:
            body = json.loads(self._state_path.read_text(encoding="utf-8"))
            return body if isinstance(body, dict) and isinstance(body.get("generation"), int) else {}
        except (OSError, ValueError):
            return {}

    def _save_state(self, state: dict[str, Any]) -> None:
        self._state = state
        tmp = self._state_path.with_name(f"{self._state_path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(state), encoding="utf-8")
            os.replace(tmp, self._state_path)
        except OSError:
            pass  # a read-only home only costs a full sync next time

    def store(self) -> ChromaStore:
        """The server collection (opened on first use; follows the registry pointer)."""
        with self._lock:
            if self._store is None:
                self._store = ChromaStore(self.index_dir, self.chroma_url, self.collection, create=False)
            return self._store

    # -- the catalog interface ------------------------------------------------------------------------------

    def generation(self) -> int:
        """The server's generation, after bringing the mirror up to it (one registry read when unchanged)."""
        with self._lock:
            try:
                store = self.store()
                state = store.registry.state() if store.registry is not None else None
            except StoreUnreachable as exc:
                if "generation" not in self._state:
                    raise
                self.offline = OFFLINE_WARNING.format(error=exc, generation=self._state["generation"])
                return int(self._state["generation"])
            self.offline = None
            assert state is not None
            if state.physical != store.physical:
                store.reopen()
            if state.generation != self._state.get("generation"):
                self._sync(store, state.generation)
            return state.generation

    def _sync(self, store: ChromaStore, generation: int) -> None:
        try:
            manifest = store.manifest()
        except CollectionMissing:
            store.reopen()
            manifest = store.manifest()
        mirrored = self._mirror.chunk_ids()
        if not mirrored:
            rows = {cid: (chunk_from_row(cid, doc, dict(meta or {})), dict(meta or {}))
                    for page in store.iter_rows() for cid, doc, meta in
                    zip(page["ids"], page["documents"], page["metadatas"], strict=True)}
            gone: set[str] = set()
        else:
            on_server = set(store.iter_ids())
            gone = mirrored - on_server
            rows = store.get_rows(sorted(on_server - mirrored))
        self._apply(rows, gone, manifest)
        self._save_state({"generation": generation, "physical": store.physical})

    def _apply(self, rows: dict[str, tuple[Chunk, dict[str, Any]]], gone: set[str], manifest: Manifest | None) -> None:
        """Replace every touched source's chunks in the mirror, in one transaction."""
        by_source: dict[str, list[tuple[Chunk, dict[str, Any]]]] = {}
        for chunk, meta in rows.values():
            by_source.setdefault(chunk.source, []).append((chunk, meta))
        touched = set(by_source) | self._mirror.sources_of(gone)
        entries: list[tuple[FileRecord, list[Chunk]]] = []
        empty: list[str] = []
        for source in sorted(touched):
            known = {c.id: c for c in self._mirror.chunks_of(source) if c.id not in gone}
            fresh = by_source.get(source, [])
            known.update({c.id: c for c, _ in fresh})
            if not known:
                empty.append(source)
                continue
            chunks = sorted(known.values(), key=lambda c: (c.ordinal, c.char_start))
            meta = fresh[0][1] if fresh else {}
            old = self._mirror.files().get(source) if not fresh else None
            record = FileRecord(
                source=source, root=str(meta.get("root") or (old.root if old else root_name(source))), size=0,
                mtime_ns=0, sha256=chunks[0].file_sha256, kind=str(meta.get("kind") or (old.kind if old else "text")),
                chunks=len(chunks), pages=max((c.page_end or 0 for c in chunks), default=0) or None,
            )
            entries.append((record, chunks))
        if empty:
            self._mirror.remove_files(empty)
        if entries or manifest is not None:
            self._mirror.commit_files(entries, manifest)

    def manifest(self) -> Manifest | None:
        """The collection's manifest (from the server; from the mirror when offline)."""
        try:
            return self.store().manifest()
        except StoreUnreachable:
            if "generation" not in self._state:
                raise
            return self._mirror.manifest()

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        self._ensure_synced()
        return self._mirror.iter_chunks()

    def get_chunks(self, ids: Iterable[str]) -> dict[str, Chunk]:
        self._ensure_synced()
        return self._mirror.get_chunks(ids)

    def files(self, root: str | None = None) -> dict[str, FileRecord]:
        self._ensure_synced()
        return self._mirror.files(root)

    def counts(self) -> tuple[int, int]:
        self._ensure_synced()
        return self._mirror.counts()

    def chunk_ids(self) -> set[str]:
        self._ensure_synced()
        return self._mirror.chunk_ids()

    def last_indexed_at(self) -> float | None:
        return None

    def _ensure_synced(self) -> None:
        if "generation" not in self._state:
            self.generation()

    def close(self) -> None:
        with self._lock:
            self._mirror.close()
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> ServerCatalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["MIRROR_SUFFIX", "ServerCatalog"]
