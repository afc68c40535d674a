"""Writers own what they wrote: a stable id per index folder, and the rule that a folder has one writer.

Every chunk a writer stores records its id and root (`writer`, `root` metadata), so reconcile, sync and remove touch
only the caller's chunks. A folder (its root name, the first part of every source key) indexed by another writer of
the same collection is refused with `WriterConflict`, unless the caller takes it over (`--take-over`), which deletes
the other writer's chunks under that root first.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from rag._result import Result
from rag.errors import StoreError
from rag.store.layout import SERVERS_DIR
from rag.store.registry import Registry, WriterRecord

IDENTITY_FILE = "writer.json"
CONFLICT_MESSAGE = (
    "Folder {root!r} is already indexed into collection {collection!r} by another writer (id {other}, host {host}, "
    "index folder {home}, path {path}). Index it from that writer, rename this folder, or pass --take-over to make "
    "this index folder its owner (the other writer's chunks under {root!r} are deleted first)."
)


class WriterConflict(StoreError):
    """Another writer already owns this folder in the collection."""


@dataclass(frozen=True)
class WriterIdentity(Result):
    """Who writes: a random id made once per index folder (kept in `<home>/writer.json`) and the host name."""

    id: str
    host: str
    home: str


def writer_identity(home: Path) -> WriterIdentity:
    """The identity of the writer whose index folder (store home) is `home`, created on first use."""
    path = Path(home) / IDENTITY_FILE
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return WriterIdentity(str(body["id"]), str(body.get("host", "")), str(Path(home).resolve()))
    except (OSError, ValueError, KeyError):
        pass
    ident = WriterIdentity(uuid.uuid4().hex[:16], socket.gethostname(), str(Path(home).resolve()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"id": ident.id, "host": ident.host}), encoding="utf-8")
    try:
        os.link(tmp, path)  # first writer wins if two processes create it at once
    except FileExistsError:
        tmp.unlink()
        return writer_identity(home)
    tmp.unlink()
    return ident


def root_name(source: str) -> str:
    """The root part of a source key (`docs/a/b.md` -> `docs`)."""
    return source.split("/", 1)[0]


def claimants(registry: Registry, me: str, name: str) -> list[WriterRecord]:
    """Other writers of the collection that own root `name`."""
    return [r for w, r in registry.state().writers.items() if w != me and name in r.roots]


def _same_folder_other_address(other: WriterRecord, home: str) -> str | None:
    """The other server folder name when `other` is this very index folder reached at another server address (its
    store home a sibling `servers/<host>_<port>` of ours, on this host), else None."""
    theirs, mine = Path(other.home), Path(home)
    if not home or other.host != socket.gethostname() or theirs == mine:
        return None
    same = theirs.parent == mine.parent and mine.parent.name == SERVERS_DIR
    return theirs.name if same else None


def check_owner(registry: Registry, me: str, name: str, *, take_over: bool, home: str = "") -> list[WriterRecord]:
    """Raise `WriterConflict` when another writer owns root `name`; with take_over, return those writers instead.
    `home` (this writer's store home) lets the message recognise this index folder reached at another address."""
    others = claimants(registry, me, name)
    if others and not take_over:
        other = others[0]
        message = CONFLICT_MESSAGE.format(
            root=name,
            collection=registry.collection,
            other=other.id,
            host=other.host or "?",
            home=other.home,
            path=other.roots[name],
        )
        address = _same_folder_other_address(other, home)
        if address is not None:
            host, _, port = address.rpartition("_")
            message += (
                f" That writer is this index folder when it reached the server as {host}:{port}: "
                "pass the --chroma-url it used (the index folder keeps one state per server address)."
            )
        raise WriterConflict(message)
    return others


__all__ = ["WriterConflict", "WriterIdentity", "check_owner", "claimants", "root_name", "writer_identity"]
