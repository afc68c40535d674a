"""A reader's view of a collection on a Chroma server: the same small interface as `Catalog`, backed by the server.

Chunks (text, location, kind) come from the server's documents and metadatas; a local SQLite mirror (a `Catalog`
file in the reader's store home) caches them, synced by chunk-id difference whenever the registry generation
changes, so a question on an unchanged index costs one registry read. BM25 (`rag.retrieve.bm25.load_or_build`) is
keyed by `generation()` and updated by file (`files()` + `chunks_of()`): a write costs a segment for the files it
changed, not a rebuild. A reader that starts with nothing first installs the writers' ready-made pack of both
(`rag.store.pack`) when there is one, and catches up from there. When the server is unreachable and a mirror
exists, the mirror answers (keyword-only) and `offline` says why.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import Chunk
from rag.errors import StoreError
from rag.store import sentence_vectors
from rag.store.catalog import Catalog, FileRecord
from rag.store.chroma import ChromaStore, chunk_from_row
from rag.store.chroma_errors import CollectionMissing, StoreUnreachable
from rag.store.manifest import Manifest
from rag.store.ownership import root_name
from rag.store.pack import PackUnavailable
from rag.store.registry import RegistryState

log = logging.getLogger(__name__)

MIRROR_SUFFIX = ".mirror.sqlite"
OFFLINE_WARNING = "{error} Answering from the local copy of generation {generation} (keyword search only)."


def _open_mirror(path: Path, collection: str) -> Catalog:
    """The mirror catalog at `path`, or in a temporary folder when the store home is not writable."""
    try:
        return Catalog(path, create=True, collection=collection)
    except (StoreError, OSError):
        return Catalog(Path(tempfile.mkdtemp(prefix="rag-mirror-")) / path.name, create=True, collection=collection)


def _rows(pages: Iterable[dict[str, Any]]) -> dict[str, tuple[Chunk, dict[str, Any]]]:
    return {
        cid: (chunk_from_row(cid, doc, dict(meta or {})), dict(meta or {}))
        for page in pages
        for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
    }


class ServerCatalog:
    """Catalog-like reader of `collection` on the server at `chroma_url` (mirror and state beside `mirror_path`)."""

    def __init__(
        self, index_dir: Path, chroma_url: str, collection: str, mirror_path: Path, bm25_path: Path | None = None
    ) -> None:
        self.index_dir = Path(index_dir)
        self.bm25_path = bm25_path
        """The readers' BM25 stem (where a pack's BM25 files go; None: packs are not used)."""
        self.chroma_url = chroma_url
        self.collection = collection
        self._mirror = _open_mirror(Path(mirror_path), collection)
        self._state_path = self._mirror.path.with_name(self._mirror.path.name + ".json")
        self._state = self._load_state()
        self._store: ChromaStore | None = None
        self._lock = threading.RLock()
        self.offline: str | None = None
        """Why the server could not be read on the last check (None: it answered)."""
        self.installed_pack: str | None = None
        """Tag of the reader pack this mirror started from (None: it read the rows itself)."""

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
        """The generation the mirror holds (refreshed from the server on first use; see `refresh`)."""
        with self._lock:
            if "generation" not in self._state or self._store is None:
                return self.refresh()
            return int(self._state["generation"])

    def refresh(self) -> int:
        """Read the registry once and bring the mirror up to the server's generation; returns it.

        Unchanged: nothing more is read. Else, per writer whose generation moved, only its rows newer than the
        mirror (plus a listing of its ids when it deleted something); after a rebuild's switch, a diff by ids.
        """
        with self._lock:
            try:
                store = self.store()
                assert store.registry is not None
                state = store.registry.state()
            except StoreUnreachable as exc:
                if "generation" not in self._state:
                    raise
                self.offline = OFFLINE_WARNING.format(error=exc, generation=self._state["generation"])
                return int(self._state["generation"])
            self.offline = None
            if state.generation == self._state.get("generation"):
                return state.generation
            if state.physical != store.physical:
                store.reopen()
            if "generation" not in self._state and self.bm25_path is not None and not self._mirror.counts()[1]:
                self._install_pack(store, state)
                if self._state.get("generation") == state.generation:
                    return state.generation
            try:
                self._sync(store, state)
            except CollectionMissing:  # switched while we read: start over on the new one
                store.reopen()
                self._sync(store, store.registry.state())
            return int(self._state["generation"])

    def _sync(self, store: ChromaStore, state: RegistryState) -> None:
        manifest = store.manifest()
        seen: dict[str, int] = dict(self._state.get("seen") or {})
        if self._state.get("physical") != state.physical or not self._mirror.counts()[1]:
            self._full_sync(store, manifest)
        else:
            self._incremental(store, state, seen, manifest)
        self._save_state(
            {
                "generation": state.generation,
                "physical": state.physical,
                "seen": {w: r.generation for w, r in state.writers.items()},
            }
        )

    def _install_pack(self, store: ChromaStore, state: RegistryState) -> None:
        """Start from the writers' pack of this physical collection (mirror, its state, BM25) when there is one;
        anything wrong with it leaves the mirror empty, and the rows are read instead."""
        assert self.bm25_path is not None
        closed = False
        try:
            packs = store.packs()
            header = packs.header()
            if header is None or header.physical != state.physical:
                return
            path = self._mirror.path
            with tempfile.TemporaryDirectory(dir=path.parent, prefix=".pack-") as tmp:
                files = packs.fetch(header, Path(tmp))
                if not {"mirror.sqlite", "state.json"} <= files.keys():
                    raise PackUnavailable("pack without a mirror")
                self._mirror.close()
                closed = True
                for name, file in files.items():
                    if name.startswith("bm25"):
                        os.replace(file, self.bm25_path.with_name(self.bm25_path.name + name[len("bm25") :]))
                for suffix in ("-wal", "-shm"):
                    path.with_name(path.name + suffix).unlink(missing_ok=True)
                os.replace(files["mirror.sqlite"], path)
                os.replace(files["state.json"], self._state_path)  # last: a mirror without it is diffed by ids
            self._mirror = _open_mirror(path, self.collection)
            self._state = self._load_state()
            self.installed_pack = header.tag
        except (PackUnavailable, StoreError, OSError) as exc:
            log.info("reader pack not used (%s); reading the rows instead", exc)
            if closed:
                self._mirror = _open_mirror(self._mirror.path, self.collection)

    def synced_state(self) -> dict[str, Any]:
        """What the mirror holds: generation, physical collection, and each writer's generation seen."""
        with self._lock:
            self._ensure_synced()
            return json.loads(json.dumps(self._state))

    def copy_mirror(self, dest: Path) -> Path:
        """A consistent copy of the mirror catalog at `dest` (SQLite's online backup)."""
        with self._lock:
            return self._mirror.backup(dest)

    def _full_sync(self, store: ChromaStore, manifest: Manifest | None) -> None:
        mirrored = self._mirror.chunk_ids()
        if not mirrored:
            rows = _rows(store.iter_rows())
            gone: set[str] = set()
        else:
            on_server = set(store.iter_ids())
            gone = mirrored - on_server
            rows = store.get_rows(sorted(on_server - mirrored))
        self._apply(rows, gone, manifest, replace=not mirrored)  # an empty mirror has nothing to keep

    def _incremental(
        self, store: ChromaStore, state: RegistryState, seen: dict[str, int], manifest: Manifest | None
    ) -> None:
        rows: dict[str, tuple[Chunk, dict[str, Any]]] = {}
        gone: set[str] = set()
        files = self._mirror.files()
        owner = {name: w for w, r in state.writers.items() for name in r.roots}
        for w, record in state.writers.items():
            last = seen.get(w)
            if record.generation == last:
                continue
            where: dict[str, Any] = {"writer": w} if last is None else {"$and": [{"writer": w}, {"gen": {"$gt": last}}]}
            rows.update(_rows(store.iter_rows(where)))
            if last is not None and record.deleted_at > last:
                mine = [src for src in files if owner.get(root_name(src)) == w]
                gone |= self._mirror.chunk_ids(mine) - set(store.iter_ids({"writer": w}))
        unowned = [src for src in files if root_name(src) not in owner]
        gone |= self._mirror.chunk_ids(unowned)
        self._apply(rows, gone, manifest, replace=True)

    def _apply(
        self, rows: dict[str, tuple[Chunk, dict[str, Any]]], gone: set[str], manifest: Manifest | None, *, replace: bool
    ) -> None:
        """Update every touched source's chunks in the mirror, in one transaction. `replace`: the rows of a source
        are all of its chunks (a writer stores all chunks of a file in one write, stamped with one generation)."""
        by_source: dict[str, list[tuple[Chunk, dict[str, Any]]]] = {}
        for chunk, meta in rows.values():
            by_source.setdefault(chunk.source, []).append((chunk, meta))
        touched = set(by_source) | self._mirror.sources_of(gone)
        entries: list[tuple[FileRecord, list[Chunk]]] = []
        empty: list[str] = []
        for source in sorted(touched):
            fresh = by_source.get(source, [])
            keep = [] if replace and fresh else self._mirror.chunks_of(source)
            known = {c.id: c for c in keep if c.id not in gone}
            known.update({c.id: c for c, _ in fresh})
            if not known:
                empty.append(source)
                continue
            chunks = sorted(known.values(), key=lambda c: (c.ordinal, c.char_start))
            meta = fresh[0][1] if fresh else {}
            old = self._mirror.files().get(source) if not fresh else None
            record = FileRecord(
                source=source,
                root=str(meta.get("root") or (old.root if old else root_name(source))),
                size=0,
                mtime_ns=0,
                sha256=chunks[0].file_sha256,
                kind=str(meta.get("kind") or (old.kind if old else "text")),
                chunks=len(chunks),
                pages=max((c.page_end or 0 for c in chunks), default=0) or None,
            )
            entries.append((record, chunks))
        if empty:
            self._mirror.remove_files(empty)
        if entries or manifest is not None:
            blobs = {
                cid: sentence_vectors.from_metadata(meta.get(sentence_vectors.FIELD)) for cid, (_, meta) in rows.items()
            }
            self._mirror.commit_files(entries, manifest, {cid: blob for cid, blob in blobs.items() if blob})

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

    def sentence_vectors(self, ids: Iterable[str], dim: int) -> dict[str, np.ndarray]:
        self._ensure_synced()
        return self._mirror.sentence_vectors(ids, dim)

    def files(self, root: str | None = None) -> dict[str, FileRecord]:
        self._ensure_synced()
        return self._mirror.files(root)

    def chunks_of(self, source: str) -> list[Chunk]:
        """One file's chunks in order (with `files`, what lets BM25 update only the files a write changed)."""
        self._ensure_synced()
        return self._mirror.chunks_of(source)

    def counts(self) -> tuple[int, int]:
        self._ensure_synced()
        return self._mirror.counts()

    def chunk_ids(self) -> set[str]:
        self._ensure_synced()
        return self._mirror.chunk_ids()

    def last_indexed_at(self) -> float | None:
        return None

    def _ensure_synced(self) -> None:
        if "generation" not in self._state or self._store is None:
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
