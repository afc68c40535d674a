"""Chroma: the vectors of one collection, in cosine space, embedded (PersistentClient) or on a server (HttpClient).

We always pass our own vectors (`embedding_function=None`), so Chroma never downloads a model. Writes go in batches
no larger than the client's `get_max_batch_size()`. Every chromadb failure surfaces as `StoreError`
(`rag.store.chroma_errors`). Clients are shared per location (`rag.store.clients`).

Each chunk is stored self-sufficiently: its text as the document and its whole location as metadata (source, pages,
char offsets, heading path, file sha256, ordinal, kind, and in server mode the writer and root that own it and the
chunk's sentence vectors), so a reader with nothing but the server can cite it and rank by sentences. In server mode
the logical collection name resolves through the registry's pointer (`rag.store.registry`) to the physical
collection, which a rebuild replaces atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import Chunk
from rag.errors import StoreError
from rag.store import clients, generation, sentence_vectors
from rag.store.chroma_errors import MISSING_COLLECTION, SERVER_UNREACHABLE, CollectionMissing, chroma_errors
from rag.store.manifest import Manifest, now_iso
from rag.store.pack import Packs
from rag.store.registry import Registry, WriterRecord

SPACE = "cosine"
_ID_PAGE = 50_000
_ROW_PAGE = 2_000
__all__ = [
    "ChromaStore",
    "MISSING_COLLECTION",
    "SERVER_UNREACHABLE",
    "WriterSession",
    "chunk_from_row",
    "chunk_metadata",
]


def chunk_metadata(chunk: Chunk, kind: str) -> dict[str, Any]:
    """Chroma metadata of a chunk (None values omitted: Chroma metadata cannot hold None)."""
    meta: dict[str, Any] = {
        "source": chunk.source,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "heading": " > ".join(chunk.heading_path),
        "heading_path": json.dumps(list(chunk.heading_path), ensure_ascii=False),
        "file_sha256": chunk.file_sha256,
        "ordinal": chunk.ordinal,
        "kind": kind,
    }
    if chunk.page_start is not None:
        meta["page_start"] = chunk.page_start
    if chunk.page_end is not None:
        meta["page_end"] = chunk.page_end
    if chunk.ocr:  # absent means not OCR'd (and is what indexes from before the mark hold)
        meta["ocr"] = True
    return meta


def chunk_from_row(cid: str, text: str | None, meta: dict[str, Any]) -> Chunk:
    """The chunk a stored (id, document, metadata) row describes."""
    raw = meta.get("heading_path")
    if isinstance(raw, str):
        heading = tuple(json.loads(raw))
    else:
        heading = tuple(h for h in str(meta.get("heading", "")).split(" > ") if h)
    return Chunk(
        id=cid,
        text=text or "",
        source=str(meta["source"]),
        ordinal=int(meta.get("ordinal", 0)),
        char_start=int(meta.get("char_start", 0)),
        char_end=int(meta.get("char_end", 0)),
        page_start=meta.get("page_start"),
        page_end=meta.get("page_end"),
        heading_path=heading,
        file_sha256=str(meta.get("file_sha256", "")),
        ocr=bool(meta.get("ocr", False)),
    )


@dataclass
class WriterSession:
    """A writer's registry record while it writes: every write stamps chunks with its id, root and next generation,
    then publishes the bumped generation so readers notice."""

    registry: Registry
    record: WriterRecord
    root: str = ""
    """Root name the current run writes (stored on each chunk)."""
    pending: int = field(default=0)

    def next_generation(self) -> int:
        return self.record.generation + 1

    def publish(self, *, deleted: bool = False) -> None:
        """Bump the generation in the registry (and record a delete, so readers look for vanished ids)."""
        gen = self.record.generation + 1
        self.record = replace(
            self.record, generation=gen, deleted_at=gen if deleted else self.record.deleted_at, updated_at=now_iso()
        )
        self.registry.put_writer(self.record)


class ChromaStore:
    """One Chroma collection holding our vectors.

    Args:
        index_dir: index folder; the embedded store lives in `<index_dir>/chroma` (ignored with chroma_url).
        chroma_url: `http://HOST:PORT` of a Chroma server, or None for the embedded store.
        collection: logical collection name (Chroma wants 3-512 characters of [A-Za-z0-9._-]).
        create: create the collection if missing (writers); readers pass False and get `StoreError` instead.
        physical: the Chroma collection to use (default: the one readers use now, see `resolve`).

    Raises:
        StoreError: the server is unreachable, the name is invalid, or (create=False) the collection is missing.
    """

    def __init__(
        self,
        index_dir: Path,
        chroma_url: str | None,
        collection: str,
        *,
        create: bool = True,
        physical: str | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.chroma_url = chroma_url
        self.name = collection
        self.where: object = chroma_url or self.index_dir / "chroma"
        self._key, self._client = clients.acquire(self.index_dir, chroma_url, reader=not create)
        self._closed = False
        try:
            self.registry = Registry(self._client, collection, where=self.where) if chroma_url else None
            self.physical = physical or self.resolve()
            self._collection = self._get_collection(create)
        except BaseException:
            self.close()
            raise
        self._max_batch: int | None = None
        self.writer: WriterSession | None = None
        self._pinned = physical is not None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the shared client (the last user closes it)."""
        if not self._closed:
            self._closed = True
            clients.release(self._key)

    def __enter__(self) -> ChromaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _errors(self, what: str) -> Any:
        return chroma_errors(f"{what} {self.physical!r}", name=self.name, where=self.where, url=self.chroma_url)

    def packs(self) -> Packs:
        """The reader packs of this collection (server mode; `rag.store.pack`)."""
        if self.chroma_url is None:
            raise StoreError("Reader packs live on a Chroma server; this store is embedded.")
        return Packs(self._client, self.name, where=self.where)

    def resolve(self) -> str:
        """The physical collection readers use now: the registry's pointer (server) or the build pointer file
        (embedded, `rag.store.generation`); the logical name when there is none."""
        if self.registry is not None:
            return self.registry.state().physical
        return generation.physical_name(self.name, generation.current_tag(self.index_dir, self.name))

    def _get_collection(self, create: bool, name: str | None = None) -> Any:
        name = name or self.physical
        with chroma_errors(f"open collection {name!r}", name=self.name, where=self.where, url=self.chroma_url):
            if create:
                return self._client.get_or_create_collection(
                    name, embedding_function=None, configuration={"hnsw": {"space": SPACE}}
                )
            return self._client.get_collection(name, embedding_function=None)

    def reopen(self) -> bool:
        """Follow the pointer again after the collection vanished (a rebuild switched); True when it changed."""
        old = self.physical
        if not self._pinned:
            self.physical = self.resolve()
        self._collection = self._get_collection(False)
        return self.physical != old

    def _retrying(self, call: Any, what: str) -> Any:
        """Run `call(collection)`; when the collection was replaced meanwhile, reopen and run it once more."""
        try:
            with self._errors(what):
                return call(self._collection)
        except CollectionMissing:
            self.reopen()
            with self._errors(what):
                return call(self._collection)

    def _write(self, call: Any, what: str) -> None:
        """Run a write; when a rebuild switched the pointer meanwhile (or dropped our collection), write again to the
        collection readers use now. A rebuild copies other writers' rows after its switch, so no write falls between.
        An embedded store on a read-only or full disk says so, with the fix."""
        try:
            self._retrying(call, what)
            if self.registry is not None and not self._pinned and self.resolve() != self.physical:
                self.reopen()
                with self._errors(what):
                    call(self._collection)
        except StoreError as exc:
            if self.chroma_url is None and exc.__cause__ is not None:
                refused = clients.write_failure(self.index_dir, exc.__cause__)
                if refused is not None:
                    raise refused from exc.__cause__
            raise

    @property
    def max_batch(self) -> int:
        """Largest write the client accepts in one call."""
        if self._max_batch is None:
            try:
                self._max_batch = int(self._client.get_max_batch_size())
            except Exception:
                self._max_batch = 1000
        return self._max_batch

    # -- writes ---------------------------------------------------------------------------------------------

    def attach_writer(self, session: WriterSession) -> None:
        """Stamp every later write with this writer (server mode) and publish its generation after each one."""
        self.writer = session

    def _stamp(self, meta: dict[str, Any]) -> dict[str, Any]:
        if self.writer is None:
            return meta
        return meta | {"writer": self.writer.record.id, "root": self.writer.root, "gen": self.writer.next_generation()}

    def upsert(
        self,
        chunks: Sequence[Chunk],
        vectors: Sequence[np.ndarray],
        kinds: Sequence[str],
        sentences: Sequence[bytes | None] | None = None,
    ) -> None:
        """Write chunks (id, vector, text as the document, metadata), in batches of at most `max_batch`;
        `sentences`: each chunk's sentence vectors as `rag.store.sentence_vectors.quantize` bytes, or None, kept in
        the metadata on a Chroma server only (embedded, the catalog holds them and Chroma would store them thrice)."""
        if not (len(chunks) == len(vectors) == len(kinds)) or (sentences is not None and len(sentences) != len(chunks)):
            raise ValueError("chunks, vectors, kinds and sentences must have the same length")
        step = self.max_batch
        metas = [chunk_metadata(c, k) for c, k in zip(chunks, kinds, strict=True)]
        dim = len(vectors[0]) if len(vectors) else 0
        for meta, blob in zip(metas, (sentences or ()) if self.chroma_url else (), strict=False):
            if blob:
                meta[sentence_vectors.FIELD] = sentence_vectors.to_metadata(blob, dim)

        def write(col: Any) -> None:
            for i in range(0, len(chunks), step):
                part = chunks[i : i + step]
                col.upsert(
                    ids=[c.id for c in part],
                    embeddings=np.asarray(vectors[i : i + step], dtype=np.float32),
                    documents=[c.text for c in part],
                    metadatas=[self._stamp(meta) for meta in metas[i : i + step]],
                )

        self._write(write, "upsert into")
        if self.writer is not None and len(chunks):
            self.writer.publish()

    def upsert_rows(
        self, ids: Sequence[str], embeddings: Any, documents: Sequence[str], metadatas: Sequence[dict[str, Any]]
    ) -> None:
        """Write rows exactly as read from another collection (rebuild carry-over)."""
        step = self.max_batch
        for i in range(0, len(ids), step):
            with self._errors("upsert into"):
                self._collection.upsert(
                    ids=list(ids[i : i + step]),
                    embeddings=embeddings[i : i + step],
                    documents=list(documents[i : i + step]),
                    metadatas=list(metadatas[i : i + step]),
                )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete these ids (unknown ids are ignored)."""
        ids = list(ids)
        step = self.max_batch

        def write(col: Any) -> None:
            for i in range(0, len(ids), step):
                col.delete(ids=ids[i : i + step])

        if ids:
            self._write(write, "delete in")
        if self.writer is not None and ids:
            self.writer.publish(deleted=True)

    # -- reads ----------------------------------------------------------------------------------------------

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The `k` nearest chunk ids with their cosine distances (0 = same direction), nearest first."""
        if k <= 0:
            return []
        found = self._retrying(
            lambda col: col.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=k,
                where=where or None,
                include=["distances"],
            ),
            "query",
        )
        return list(zip(found["ids"][0], (float(d) for d in found["distances"][0]), strict=True))

    def iter_ids(self, where: dict[str, Any] | None = None) -> Iterator[str]:
        """Every id in the collection (or those matching `where`), page by page."""
        offset = 0
        while True:
            with self._errors("list"):
                page = self._collection.get(include=[], where=where, limit=_ID_PAGE, offset=offset)["ids"]
            yield from page
            if len(page) < _ID_PAGE:
                return
            offset += len(page)

    def all_ids(self) -> set[str]:
        """The set of every id in the collection."""
        return set(self.iter_ids())

    def own_ids(self) -> set[str]:
        """The ids this store's writer owns (every id when no writer is attached)."""
        if self.writer is None:
            return self.all_ids()
        return set(self.iter_ids({"writer": self.writer.record.id}))

    def iter_rows(
        self, where: dict[str, Any] | None = None, *, embeddings: bool = False, page: int = _ROW_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Pages of full rows (ids, documents, metadatas, and embeddings if asked) matching `where`."""
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        offset = 0
        while True:
            with self._errors("read"):
                got = self._collection.get(where=where, include=include, limit=page, offset=offset)
            if got["ids"]:
                yield got
            if len(got["ids"]) < page:
                return
            offset += len(got["ids"])

    def get_rows(self, ids: Sequence[str]) -> dict[str, tuple[Chunk, dict[str, Any]]]:
        """The chunks stored under these ids, each with its metadata (missing ids are absent)."""
        found: dict[str, tuple[Chunk, dict[str, Any]]] = {}
        ids = list(ids)
        for i in range(0, len(ids), _ROW_PAGE):
            part = ids[i : i + _ROW_PAGE]
            got = self._retrying(lambda col, part=part: col.get(ids=part, include=["documents", "metadatas"]), "read")
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                found[cid] = (chunk_from_row(cid, doc, dict(meta or {})), dict(meta or {}))
        return found

    def rows_by_id(self, ids: Sequence[str]) -> dict[str, Any]:
        """The raw rows (ids, embeddings, documents, metadatas) with these ids."""
        with self._errors("read"):
            return dict(self._collection.get(ids=list(ids), include=["embeddings", "documents", "metadatas"]))

    def count(self) -> int:
        return int(self._retrying(lambda col: col.count(), "count"))

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (for tests and diagnostics)."""
        with self._errors("read"):
            got = self._collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)}

    # -- collection metadata: the manifest ------------------------------------------------------------------

    def write_manifest(self, manifest: Manifest) -> None:
        """Mirror the manifest into the collection metadata (scalars only; roots as JSON)."""
        meta: dict[str, Any] = {}
        for key, value in manifest.to_dict().items():
            if value is None:
                continue
            meta[f"rag_{key}"] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value)
        with self._errors("update the metadata of"):
            self._collection.modify(metadata=meta)

    def metadata(self) -> dict[str, Any]:
        return dict(self._collection.metadata or {})

    def manifest(self) -> Manifest | None:
        """The manifest stored in the collection metadata (None when no writer finished a run yet)."""
        with self._errors("read the metadata of"):
            col = self._client.get_collection(self.physical, embedding_function=None)
        meta = dict(col.metadata or {})
        if "rag_embed_model" not in meta:
            return None
        data: dict[str, Any] = {}
        for key, value in meta.items():
            if key.startswith("rag_"):
                name = key[4:]
                data[name] = json.loads(value) if name == "roots" and isinstance(value, str) else value
        return Manifest.from_dict({"dimension": None, "prefix_scheme": None} | data)  # None values are not stored

    # -- whole collections ----------------------------------------------------------------------------------

    def drop(self) -> None:
        """Delete the whole collection and create it empty again (same name, cosine space)."""
        self.drop_physical(self.physical)
        self._collection = self._get_collection(True)

    def drop_physical(self, name: str) -> None:
        """Delete a physical collection (absent is fine)."""
        try:
            with self._errors(f"delete {name!r} near"):
                self._client.delete_collection(name)
        except CollectionMissing:
            pass

    def switch_to(self, physical: str, *, create: bool = True) -> None:
        """Point this store (not readers) at another physical collection, creating it if asked; it stays there."""
        self.physical = physical
        self._pinned = True
        self._collection = self._get_collection(create)

    def physical_names(self) -> list[str]:
        """Physical collections of this logical one: its own name and its rebuilds (`<name>.b<n>`)."""
        with self._errors("list collections near"):
            cols = self._client.list_collections()
        names = [getattr(c, "name", c) for c in cols]
        return sorted(str(n) for n in names if n == self.name or str(n).startswith(f"{self.name}.b"))
