"""Reader packs: a ready-made copy of a reader's local state (mirror catalog, BM25 files), kept on the Chroma server.

A reader with an empty index folder would otherwise read every row from the server and build BM25 itself before its
first answer (linear in chunks: ~30 s at 100k). A writer publishes a pack after a run that changed enough; a cold
reader downloads it (a few large records), unpacks it where its own mirror lives and then catches up on what was
written since, by writer generation, like any warm reader. Packs live in their own small collection (`rag.packs`):
one header record per logical collection and the pack's bytes (a zlib-compressed tar) split into pieces stored as
base64 metadata strings (documents would be full-text indexed by Chroma). A missing or damaged piece makes the
reader fall back to reading the rows; a pack never decides what is true, only where a reader starts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag._result import Result
from rag.store.chroma_errors import chroma_errors

PACKS = "rag.packs"
PIECE_BYTES = 6 * 1024 * 1024
"""Raw bytes per stored piece (8 MiB once base64-encoded: one request each, far under the server's limits)."""
FORMAT = 1


class PackUnavailable(Exception):
    """The pack could not be read whole (a piece is missing, or its checksum disagrees)."""


@dataclass(frozen=True)
class PackHeader(Result):
    """What a pack holds, as its header record says."""

    tag: str
    """Unique name of this pack (its pieces' ids carry it)."""
    physical: str
    """The physical Chroma collection it mirrors (a pack of another one is ignored)."""
    generation: int
    """The registry generation the mirror held when packed."""
    seen: dict[str, int] = field(default_factory=dict)
    """Writer id -> that writer's generation included in the pack."""
    rows: int = 0
    """Chunks in the pack."""
    pieces: int = 0
    size: int = 0
    """Compressed bytes."""
    sha256: str = ""
    made_at: str = ""
    format: int = FORMAT


def _pack_bytes(members: Mapping[str, Path]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in sorted(members.items()):
            tar.add(str(path), arcname=name, recursive=False)
    return zlib.compress(buf.getvalue(), 1)


def _text(piece: bytes) -> str:
    return base64.b64encode(piece).decode("ascii")


def unpack(blob: bytes, dest: Path) -> dict[str, Path]:
    """Extract a pack's members into `dest`; name -> path. Raises PackUnavailable on a damaged blob."""
    try:
        raw = zlib.decompress(blob)
        out: dict[str, Path] = {}
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name  # flat: no folders, no traversal
                if not member.isfile() or name != member.name:
                    raise PackUnavailable(f"unexpected member {member.name!r}")
                src = tar.extractfile(member)
                assert src is not None
                (dest / name).write_bytes(src.read())
                out[name] = dest / name
        return out
    except (zlib.error, tarfile.TarError, OSError) as exc:
        raise PackUnavailable(f"damaged pack: {exc}") from exc


class Packs:
    """The packs of one logical collection on one Chroma client."""

    def __init__(self, client: Any, collection: str, *, where: object) -> None:
        self.collection = collection
        self._where = where
        with self._errors("open the reader packs"):
            self._col = client.get_or_create_collection(PACKS, embedding_function=None)

    def _errors(self, what: str) -> Any:
        return chroma_errors(what, name=PACKS, where=self._where, url=str(self._where))

    @property
    def _header_id(self) -> str:
        return f"{self.collection}/header"

    def header(self) -> PackHeader | None:
        """The current pack's header (None: no pack, or one of another format)."""
        with self._errors(f"read the reader pack of {self.collection!r}"):
            got = self._col.get(ids=[self._header_id], include=["documents"])
        if not got["ids"]:
            return None
        try:
            header = PackHeader(**json.loads(got["documents"][0] or "{}"))
        except (TypeError, ValueError):
            return None
        return header if header.format == FORMAT else None

    def download(self, header: PackHeader) -> bytes:
        """The pack's bytes, checked against its header. Raises PackUnavailable."""
        parts: list[bytes] = []
        for i in range(header.pieces):
            with self._errors(f"read the reader pack of {self.collection!r}"):
                got = self._col.get(ids=[f"{self.collection}/{header.tag}/{i}"], include=["metadatas"])
            if not got["ids"]:
                raise PackUnavailable(f"piece {i} of pack {header.tag} is gone (a newer pack replaced it)")
            parts.append(base64.b64decode(str((got["metadatas"][0] or {}).get("data", ""))))
        blob = b"".join(parts)
        if hashlib.sha256(blob).hexdigest() != header.sha256:
            raise PackUnavailable(f"pack {header.tag} does not match its checksum")
        return blob

    def publish(self, members: Mapping[str, Path], header: PackHeader) -> PackHeader:
        """Store `members` as a new pack, switch the header to it, then delete older pieces; the stored header."""
        blob = _pack_bytes(members)
        pieces = [blob[i : i + PIECE_BYTES] for i in range(0, len(blob), PIECE_BYTES)] or [b""]
        for i, piece in enumerate(pieces):
            with self._errors(f"write the reader pack of {self.collection!r}"):
                self._col.upsert(
                    ids=[f"{self.collection}/{header.tag}/{i}"],
                    embeddings=[[1.0]],
                    metadatas=[{"collection": self.collection, "tag": header.tag, "data": _text(piece)}],
                )
        digest = hashlib.sha256(blob).hexdigest()
        stored = PackHeader(**(header.to_dict() | {"pieces": len(pieces), "size": len(blob), "sha256": digest}))
        with self._errors(f"write the reader pack of {self.collection!r}"):
            self._col.upsert(
                ids=[self._header_id],
                embeddings=[[1.0]],
                documents=[json.dumps(stored.to_dict())],
                metadatas=[{"collection": self.collection, "tag": "header"}],
            )
            older = {"$and": [{"collection": self.collection}, {"tag": {"$nin": ["header", stored.tag]}}]}
            self._col.delete(where=older)
        return stored

    def drop(self) -> None:
        """Delete this collection's pack (header and pieces)."""
        with self._errors(f"delete the reader pack of {self.collection!r}"):
            self._col.delete(where={"collection": self.collection})


__all__ = ["PACKS", "PackHeader", "PackUnavailable", "Packs", "unpack"]
