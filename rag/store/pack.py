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
import contextlib
import hashlib
import io
import json
import queue
import shutil
import tarfile
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag._result import Result
from rag.store.chroma_errors import chroma_errors

PACKS = "rag.packs"
PIECE_BYTES = 6 * 1024 * 1024
"""Raw bytes per stored piece (8 MiB once base64-encoded: one request each, far under the server's limits)."""
FORMAT = 1
INFLATE_BYTES = 1024 * 1024
"""Decompressed bytes produced and copied at a time while unpacking (bounds the reader's memory)."""
PIECE_WAIT_S = 120.0
"""Longest wait for the next piece of a pack while unpacking."""


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


class _Inflate(io.RawIOBase):
    """The decompressed bytes of a stream of zlib pieces, read as they arrive (tarfile's stream mode reads it);
    hashes the compressed pieces it consumed."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._z = zlib.decompressobj()
        self._out = memoryview(b"")
        self._flushed = False
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out:
            if self._z.unconsumed_tail:
                self._out = memoryview(self._z.decompress(self._z.unconsumed_tail, INFLATE_BYTES))
                continue
            piece = next(self._pieces, None)
            if piece is None:
                if self._flushed:
                    return 0
                self._flushed = True
                self._out = memoryview(self._z.flush())
                continue
            self.sha256.update(piece)
            self._out = memoryview(self._z.decompress(piece, INFLATE_BYTES))
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def unpack(pieces: Iterable[bytes], dest: Path, *, sha256: str | None = None) -> dict[str, Path]:
    """Extract a pack, given as its pieces in order, into `dest` while they arrive; name -> path. Raises
    PackUnavailable on a damaged pack or one whose bytes disagree with `sha256` (what was extracted stays in `dest`:
    extract into a temporary folder)."""
    inflate = _Inflate(iter(pieces))
    out: dict[str, Path] = {}
    try:
        with (
            io.BufferedReader(inflate, INFLATE_BYTES) as stream,
            tarfile.open(fileobj=stream, mode="r|") as tar,
        ):
            for member in tar:
                name = Path(member.name).name  # flat: no folders, no traversal
                if not member.isfile() or name != member.name:
                    raise PackUnavailable(f"unexpected member {member.name!r}")
                src = tar.extractfile(member)
                assert src is not None
                with open(dest / name, "wb") as f:
                    shutil.copyfileobj(src, f, INFLATE_BYTES)
                out[name] = dest / name
            while stream.read(INFLATE_BYTES):  # the rest (tar padding), so every piece is hashed
                pass
    except (zlib.error, tarfile.TarError, OSError) as exc:
        raise PackUnavailable(f"damaged pack: {exc}") from exc
    if sha256 is not None and inflate.sha256.hexdigest() != sha256:
        raise PackUnavailable("the pack does not match its checksum")
    return out


def _ahead(pieces: Iterator[bytes], depth: int = 2) -> Iterator[bytes]:
    """`pieces`, fetched by a helper thread up to `depth` ahead (the download overlaps unpacking); its errors are
    raised here. Every wait has a deadline (PIECE_WAIT_S)."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fetch() -> None:
        try:
            for piece in pieces:
                while not stop.is_set():
                    try:
                        box.put(("piece", piece), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None), timeout=PIECE_WAIT_S)
        except BaseException as exc:  # handed to the reader, which raises it
            with contextlib.suppress(queue.Full):
                box.put(("error", exc), timeout=PIECE_WAIT_S)

    helper = threading.Thread(target=fetch, name="rag-pack-download", daemon=True)
    helper.start()
    try:
        while True:
            try:
                kind, value = box.get(timeout=PIECE_WAIT_S)
            except queue.Empty:
                raise PackUnavailable(f"no piece of the pack arrived in {PIECE_WAIT_S:.0f} s") from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


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

    def _pieces(self, header: PackHeader) -> Iterator[bytes]:
        for i in range(header.pieces):
            with self._errors(f"read the reader pack of {self.collection!r}"):
                got = self._col.get(ids=[f"{self.collection}/{header.tag}/{i}"], include=["metadatas"])
            if not got["ids"]:
                raise PackUnavailable(f"piece {i} of pack {header.tag} is gone (a newer pack replaced it)")
            yield base64.b64decode(str((got["metadatas"][0] or {}).get("data", "")))

    def fetch(self, header: PackHeader, dest: Path) -> dict[str, Path]:
        """Download the pack of `header` and extract it into `dest` (a temporary folder) as its pieces arrive;
        name -> path. Raises PackUnavailable (missing piece, damaged bytes, checksum) and StoreError."""
        return unpack(_ahead(self._pieces(header)), dest, sha256=header.sha256)

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
