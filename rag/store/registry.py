"""The registry: a small Chroma collection (`rag.registry`) every writer and reader of a server shares.

Per logical collection it holds one pointer record (which physical Chroma collection readers use, so a rebuild can
build a new one and switch atomically) and one record per writer (who it is, which folders it owns, and a
generation counter it bumps after every write). Each writer only ever upserts its own record, so writers never race
on a shared value; a reader's generation is a hash of the pointer and every writer's counter, read in one call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from rag._result import Result
from rag.store.chroma_errors import chroma_errors

REGISTRY = "rag.registry"
_KIND_POINTER = "pointer"
_KIND_WRITER = "writer"


@dataclass(frozen=True)
class WriterRecord(Result):
    """One writer of a collection as the registry knows it."""

    id: str
    """Stable id of the writer's index folder (`rag.store.ownership.writer_identity`)."""
    host: str
    home: str
    """The writer's index folder (on its machine)."""
    roots: dict[str, str] = field(default_factory=dict)
    """Folders it owns: root name (the first part of each source key) -> absolute path on its machine."""
    generation: int = 0
    """Bumped after every write of this writer."""
    deleted_at: int = 0
    """The generation of its last delete (readers list its ids only when this moved; adds need no listing)."""
    updated_at: str = ""


@dataclass(frozen=True)
class RegistryState(Result):
    """What a reader needs to know about a collection, from one read."""

    physical: str
    """The Chroma collection holding the chunks now."""
    writers: dict[str, WriterRecord]
    switched: bool = False
    """A pointer record exists (a rebuild has switched at least once)."""

    @property
    def generation(self) -> int:
        """A number that changes whenever any writer wrote or a rebuild switched (63-bit hash)."""
        key = json.dumps([self.physical, sorted((w, r.generation) for w, r in self.writers.items())])
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 1


class Registry:
    """The registry records of one logical collection on one Chroma client."""

    def __init__(self, client: Any, collection: str, *, where: object) -> None:
        self.collection = collection
        self._where = where
        with self._errors("open the registry"):
            self._col = client.get_or_create_collection(REGISTRY, embedding_function=None)

    def _errors(self, what: str) -> Any:
        return chroma_errors(what, name=REGISTRY, where=self._where, url=str(self._where))

    def state(self) -> RegistryState:
        """Pointer and writers in one read."""
        with self._errors(f"read the registry of {self.collection!r}"):
            got = self._col.get(where={"collection": self.collection}, include=["documents", "metadatas"])
        physical, switched = self.collection, False
        writers: dict[str, WriterRecord] = {}
        for doc, meta in zip(got["documents"], got["metadatas"], strict=True):
            body = json.loads(doc or "{}")
            if (meta or {}).get("kind") == _KIND_POINTER:
                physical, switched = str(body["physical"]), True
            elif (meta or {}).get("kind") == _KIND_WRITER:
                writers[body["id"]] = WriterRecord(**body)
        return RegistryState(physical, writers, switched)

    def put_writer(self, record: WriterRecord) -> None:
        self._put(f"{self.collection}/writer/{record.id}", _KIND_WRITER, record.to_dict())

    def drop_writer(self, writer_id: str) -> None:
        with self._errors(f"update the registry of {self.collection!r}"):
            self._col.delete(ids=[f"{self.collection}/writer/{writer_id}"])

    def set_pointer(self, physical: str) -> None:
        """Switch readers to `physical` (one record upsert: atomic for every reader)."""
        self._put(f"{self.collection}/pointer", _KIND_POINTER, {"physical": physical})

    def _put(self, rid: str, kind: str, body: dict[str, Any]) -> None:
        with self._errors(f"update the registry of {self.collection!r}"):
            self._col.upsert(
                ids=[rid],
                embeddings=[[1.0]],
                documents=[json.dumps(body, ensure_ascii=False)],
                metadatas=[{"collection": self.collection, "kind": kind}],
            )

    def collections(self) -> list[str]:
        """Every logical collection with a record in the registry, sorted."""
        with self._errors("list the registry"):
            got = self._col.get(include=["metadatas"])
        return sorted({str(m["collection"]) for m in got["metadatas"] if m and "collection" in m})


__all__ = ["REGISTRY", "Registry", "RegistryState", "WriterRecord"]
