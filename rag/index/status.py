"""`rag status`: where the index lives and what each collection holds. Reads only; never takes the writer lock."""

from __future__ import annotations

import dataclasses
import fcntl
import os
from datetime import datetime, timezone
from pathlib import Path

from rag.config import Settings, config_path, default_index_dir, user_dir
from rag.errors import StoreError
from rag.index.report import CollectionStatus, Status
from rag.store import IndexHandle, open_index
from rag.store.chroma_count import embedded_count
from rag.store.chroma_errors import CollectionMissing, StoreUnreachable
from rag.store.layout import IndexLayout, catalog_names
from rag.store.lock import WriterLock


def _lock_holder(lay: IndexLayout) -> int | None:
    """pid of a writer holding the lock right now, else None (probes without waiting)."""
    if not lay.lock.exists():
        return None
    fd = os.open(lay.lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return WriterLock(lay.lock).holder_pid()
    finally:
        os.close(fd)  # closing drops the probe's shared lock, if taken
    return None


def _collection_status(index: IndexHandle) -> CollectionStatus | None:
    lay = index.layout
    store_error: str | None = None
    try:
        reader = index.open_reader() if lay.chroma_url else index.open_catalog(create=False)
    except CollectionMissing:  # listed by a local catalog or the settings, but not on the server
        return None
    except StoreUnreachable as exc:  # server down and no local copy: say so, with the fix
        return CollectionStatus(
            name=lay.collection,
            model=None,
            dimension=None,
            files=0,
            chunks=0,
            vectors=None,
            updated_at=None,
            roots=[],
            catalog=str(lay.catalog),
            store_error=str(exc),
        )
    with reader as catalog:
        manifest = catalog.manifest()
        files, chunks = catalog.counts()
        records = catalog.files()
        last = catalog.last_indexed_at()
        store_error = getattr(catalog, "offline", None)
    vectors: int | None = None
    if store_error is None and lay.chroma_dir is not None:  # embedded: read the count without importing chromadb
        vectors = embedded_count(lay.chroma_dir, lay.physical)
    if store_error is None and vectors is None:
        try:
            with index.open_store(create=False) as store:
                vectors = store.count()
        except StoreError as exc:
            store_error = str(exc)
    updated = manifest.updated_at if manifest and manifest.updated_at else None
    if updated is None and last:
        updated = datetime.fromtimestamp(last, timezone.utc).replace(microsecond=0).isoformat()
    return CollectionStatus(
        name=lay.collection,
        model=manifest.embed_model if manifest else None,
        dimension=manifest.dimension if manifest else None,
        files=files,
        chunks=chunks,
        vectors=vectors,
        updated_at=updated,
        roots=list(manifest.roots) if manifest else sorted({r.root for r in records.values()}),
        catalog=str(lay.catalog),
        backend=manifest.embed_backend or None if manifest else None,
        prefix_scheme=manifest.prefix_scheme if manifest else None,
        chunk_tokens=manifest.chunk_tokens if manifest else None,
        chunk_overlap=manifest.chunk_overlap if manifest else None,
        stale_files=sum(1 for r in records.values() if r.stale),
        store_error=store_error,
    )


def _server_collections(settings: Settings) -> list[str]:
    """Collections the server's registry knows (empty when it cannot be reached: the per-collection rows say why)."""
    from rag.store.clients import acquire, release
    from rag.store.registry import Registry

    assert settings.chroma_url is not None
    try:
        key, client = acquire(Path(settings.index_dir or "."), settings.chroma_url)
    except StoreError:
        return []
    try:
        return Registry(client, settings.collection, where=settings.chroma_url).collections()
    except StoreError:
        return []
    finally:
        release(key)


def index_status(settings: Settings) -> Status:
    """Every collection with a catalog in the index folder (for this store: embedded, or the --chroma-url server)."""
    settings = dataclasses.replace(settings, index_dir=Path(settings.index_dir or default_index_dir()).absolute())
    base = open_index(settings).layout
    names = set(catalog_names(base.home))
    if base.chroma_url:
        names |= set(_server_collections(settings)) or {settings.collection}
    found = [_collection_status(open_index(settings, name)) for name in sorted(names)]
    collections = [c for c in found if c is not None]
    return Status(
        index_dir=str(base.index_dir),
        chroma_url=base.chroma_url,
        chroma_path=str(base.chroma_dir) if base.chroma_dir else None,
        catalog_dir=str(base.home),
        user_dir=str(user_dir(create=False).absolute()),
        config_path=str(config_path(create=False).absolute()),
        collections=collections,
        locked_by=_lock_holder(base),
    )
