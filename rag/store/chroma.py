"""Chroma: the vectors of one collection, in cosine space, embedded (PersistentClient) or on a server (HttpClient).

We always pass our own vectors (`embedding_function=None`), so Chroma never downloads a model. Writes go in batches
no larger than the client's `get_max_batch_size()`. Every chromadb failure surfaces as `StoreError`.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ingest.chunking import Chunk
from rag.errors import StoreError
from rag.store.layout import chroma_base_url
from rag.store.manifest import Manifest

SPACE = "cosine"
SERVER_UNREACHABLE = (
    "Cannot reach the Chroma server at {url} ({reason}). Start it with `chroma run --path DIR --host 127.0.0.1 "
    "--port PORT`, or drop --chroma-url to use the embedded store."
)
MISSING_COLLECTION = "No Chroma collection {name!r} at {where}. Run `rag index FOLDER` first."
_ID_PAGE = 50_000


def _chroma_settings() -> Any:
    import chromadb

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def _open_client(index_dir: Path, chroma_url: str | None) -> Any:
    from rag.store.clients import shared_client

    key = chroma_url or str((Path(index_dir) / "chroma").resolve())
    return shared_client(key, lambda: _new_client(index_dir, chroma_url))


def _new_client(index_dir: Path, chroma_url: str | None) -> Any:
    import chromadb

    if not chroma_url:
        path = Path(index_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    parts = urlsplit(chroma_base_url(chroma_url))
    ssl = parts.scheme == "https"
    try:
        client = chromadb.HttpClient(
            host=parts.hostname or "localhost", port=parts.port or (443 if ssl else 8000), ssl=ssl,
            settings=_chroma_settings(),
        )
        client.heartbeat()
    except Exception as exc:  # chromadb raises a mix of httpx, ValueError and its own errors here
        raise StoreError(SERVER_UNREACHABLE.format(url=chroma_url, reason=str(exc) or type(exc).__name__)) from exc
    return client


def chunk_metadata(chunk: Chunk, kind: str) -> dict[str, Any]:
    """Chroma metadata of a chunk (None values omitted: Chroma metadata cannot hold None)."""
    meta: dict[str, Any] = {
        "source": chunk.source,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "heading": " > ".join(chunk.heading_path),
        "file_sha256": chunk.file_sha256,
        "ordinal": chunk.ordinal,
        "kind": kind,
    }
    if chunk.page_start is not None:
        meta["page_start"] = chunk.page_start
    if chunk.page_end is not None:
        meta["page_end"] = chunk.page_end
    return meta


class ChromaStore:
    """One Chroma collection holding our vectors.

    Args:
        index_dir: index folder; the embedded store lives in `<index_dir>/chroma` (ignored with chroma_url).
        chroma_url: `http://HOST:PORT` of a Chroma server, or None for the embedded store.
        collection: collection name (Chroma wants 3-512 characters of [A-Za-z0-9._-]).
        create: create the collection if missing (writers); readers pass False and get `StoreError` instead.

    Raises:
        StoreError: the server is unreachable, the name is invalid, or (create=False) the collection is missing.
    """

    def __init__(self, index_dir: Path, chroma_url: str | None, collection: str, *, create: bool = True) -> None:
        self.index_dir = Path(index_dir)
        self.chroma_url = chroma_url
        self.name = collection
        self._client = _open_client(self.index_dir, chroma_url)
        self._collection = self._get_collection(create)
        self._max_batch: int | None = None

    def _get_collection(self, create: bool) -> Any:
        try:
            if create:
                return self._client.get_or_create_collection(
                    self.name, embedding_function=None, configuration={"hnsw": {"space": SPACE}}
                )
            return self._client.get_collection(self.name, embedding_function=None)
        except Exception as exc:
            if not create and "does not exist" in str(exc).lower():
                where = self.chroma_url or self.index_dir / "chroma"
                raise StoreError(MISSING_COLLECTION.format(name=self.name, where=where)) from exc
            raise StoreError(f"Chroma cannot open collection {self.name!r}: {exc}") from exc

    @property
    def max_batch(self) -> int:
        """Largest write the client accepts in one call."""
        if self._max_batch is None:
            try:
                self._max_batch = int(self._client.get_max_batch_size())
            except Exception:
                self._max_batch = 1000
        return self._max_batch

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[np.ndarray], kinds: Sequence[str]) -> None:
        """Write chunks (id, vector, text as the document, metadata), in batches of at most `max_batch`."""
        if not (len(chunks) == len(vectors) == len(kinds)):
            raise ValueError("chunks, vectors and kinds must have the same length")
        step = self.max_batch
        for i in range(0, len(chunks), step):
            part = chunks[i : i + step]
            try:
                self._collection.upsert(
                    ids=[c.id for c in part],
                    embeddings=np.asarray(vectors[i : i + step], dtype=np.float32),
                    documents=[c.text for c in part],
                    metadatas=[chunk_metadata(c, k) for c, k in zip(part, kinds[i : i + step])],
                )
            except Exception as exc:
                raise StoreError(f"Chroma rejected a write to {self.name!r}: {exc}") from exc

    def delete(self, ids: Sequence[str]) -> None:
        """Delete these ids (unknown ids are ignored)."""
        ids = list(ids)
        step = self.max_batch
        for i in range(0, len(ids), step):
            try:
                self._collection.delete(ids=ids[i : i + step])
            except Exception as exc:
                raise StoreError(f"Chroma rejected a delete in {self.name!r}: {exc}") from exc

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The `k` nearest chunk ids with their cosine distances (0 = same direction), nearest first."""
        if k <= 0:
            return []
        try:
            found = self._collection.query(
                query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k, where=where or None,
                include=["distances"],
            )
        except Exception as exc:
            raise StoreError(f"Chroma query on {self.name!r} failed: {exc}") from exc
        return list(zip(found["ids"][0], (float(d) for d in found["distances"][0])))

    def iter_ids(self) -> Iterator[str]:
        """Every id in the collection, page by page."""
        offset = 0
        while True:
            try:
                page = self._collection.get(include=[], limit=_ID_PAGE, offset=offset)["ids"]
            except Exception as exc:
                raise StoreError(f"Chroma cannot list {self.name!r}: {exc}") from exc
            yield from page
            if len(page) < _ID_PAGE:
                return
            offset += len(page)

    def all_ids(self) -> set[str]:
        """The set of every id in the collection."""
        return set(self.iter_ids())

    def count(self) -> int:
        try:
            return int(self._collection.count())
        except Exception as exc:
            raise StoreError(f"Chroma cannot count {self.name!r}: {exc}") from exc

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (for tests and diagnostics)."""
        try:
            got = self._collection.get(ids=list(ids), include=["embeddings"])
        except Exception as exc:
            raise StoreError(f"Chroma cannot read {self.name!r}: {exc}") from exc
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def write_manifest(self, manifest: Manifest) -> None:
        """Mirror the manifest into the collection metadata (scalars only; roots as JSON)."""
        meta: dict[str, Any] = {}
        for key, value in manifest.to_dict().items():
            if value is None:
                continue
            meta[f"rag_{key}"] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
        try:
            self._collection.modify(metadata=meta)
        except Exception as exc:
            raise StoreError(f"Chroma cannot update the metadata of {self.name!r}: {exc}") from exc

    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def drop(self) -> None:
        """Delete the whole collection and create it empty again (same name, cosine space)."""
        try:
            self._client.delete_collection(self.name)
        except Exception as exc:
            if "does not exist" not in str(exc).lower():
                raise StoreError(f"Chroma cannot delete {self.name!r}: {exc}") from exc
        self._collection = self._get_collection(True)
