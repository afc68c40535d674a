"""The catalog: one SQLite file per collection, the truth for "this file is indexed, with these chunks".

Tables: `manifest(key, value)` (JSON values), `files` (one row per indexed file), `chunks` (text and location of
every chunk), `sentences` (a chunk's sentence vectors, `rag.store.sentence_vectors`), `state(key, value)` (the
generation counter, bumped by every committed change). WAL mode, so readers
(`rag ask`, BM25) see the last committed state while a writer works. A file's row and its chunk rows change in one
transaction, and only after its vectors are in Chroma, so the catalog never names a chunk Chroma lacks.
"""

from __future__ import annotations

import contextlib
import errno
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunking import Chunk
from rag._result import Result
from rag.errors import StoreError
from rag.store import sentence_vectors
from rag.store.manifest import Manifest

SCHEMA_VERSION = 1
NO_INDEX_MESSAGE = "No index for collection {collection!r} in {home}. Run `rag index FOLDER` first."
_SQL_CHUNK = 900  # stay under SQLite's host-parameter limit

_SENTENCES_TABLE = "CREATE TABLE IF NOT EXISTS sentences(id TEXT PRIMARY KEY, vectors BLOB NOT NULL)"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS manifest(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    source TEXT PRIMARY KEY, root TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, chunks INTEGER NOT NULL, pages INTEGER,
    indexed_at REAL NOT NULL, warnings TEXT NOT NULL DEFAULT '[]', stale INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS files_root ON files(root);
CREATE TABLE IF NOT EXISTS chunks(
    id TEXT PRIMARY KEY, source TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, page_start INTEGER, page_end INTEGER,
    heading_path TEXT NOT NULL, file_sha256 TEXT NOT NULL, ocr INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source, ordinal);
{_SENTENCES_TABLE};
INSERT OR IGNORE INTO state(key, value) VALUES ('generation', 0);
"""
_CHUNK_COLUMNS = "id, text, source, ordinal, char_start, char_end, page_start, page_end, heading_path, file_sha256, ocr"
_CHUNK_COLUMNS_BEFORE_OCR = _CHUNK_COLUMNS.replace(", ocr", ", 0 AS ocr")
"""What a reader selects from a catalog written before the `ocr` column (its chunks read as not OCR'd)."""


@dataclass(frozen=True)
class FileRecord(Result):
    """One indexed file as the catalog knows it."""

    source: str
    """Storage key `<root folder name>/<relative path>`."""
    root: str
    """Absolute root folder it was indexed from."""
    size: int
    """Bytes, at indexing time."""
    mtime_ns: int
    sha256: str
    kind: str
    chunks: int
    pages: int | None = None
    indexed_at: float = 0.0
    """Unix time of the commit."""
    warnings: tuple[str, ...] = ()
    stale: bool = False
    """Some of its vectors went missing from Chroma: the next run re-embeds it."""


def _batches(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _SQL_CHUNK):
        yield items[i : i + _SQL_CHUNK]


def _chunk_from_row(row: sqlite3.Row) -> Chunk:
    return Chunk(
        id=row[0],
        text=row[1],
        source=row[2],
        ordinal=row[3],
        char_start=row[4],
        char_end=row[5],
        page_start=row[6],
        page_end=row[7],
        heading_path=tuple(json.loads(row[8])),
        file_sha256=row[9],
        ocr=bool(row[10]),
    )


def _file_from_row(row: sqlite3.Row) -> FileRecord:
    return FileRecord(
        source=row["source"],
        root=row["root"],
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        kind=row["kind"],
        chunks=row["chunks"],
        pages=row["pages"],
        indexed_at=row["indexed_at"],
        warnings=tuple(json.loads(row["warnings"])),
        stale=bool(row["stale"]),
    )


class Catalog:
    """The SQLite catalog of one collection.

    Args:
        path: the `.catalog.sqlite` file (`IndexLayout.catalog`).
        create: create the file and schema if missing; otherwise a missing catalog raises `StoreError`.
        collection: name used in error messages.
    """

    def __init__(self, path: Path, *, create: bool = True, collection: str = "") -> None:
        self.path = Path(path)
        if not self.path.exists() and not create:
            raise StoreError(NO_INDEX_MESSAGE.format(collection=collection or self.path.name, home=self.path.parent))
        self._readonly = not create  # opened read-only; the first write reopens it read-write (see _tx)
        try:
            if not create:
                self._db = _connect_reader(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = _connect_writer(self.path)
            if create:  # one transaction, so a reader never sees half a schema
                self._db.executescript(f"BEGIN;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;")
            elif not self._db.execute("PRAGMA user_version").fetchone()[0]:  # a writer is creating it right now
                self._db.close()
                raise StoreError(
                    NO_INDEX_MESSAGE.format(collection=collection or self.path.name, home=self.path.parent)
                )
            self._select = _chunk_select(self._db)
        except sqlite3.Error as exc:
            if create and write_refused(exc):
                raise StoreError(write_refused_message(self.path.parent, exc)) from exc
            raise StoreError(
                f"Cannot open the catalog {self.path}: {exc}. Delete it and run `rag index --rebuild`."
            ) from exc
        except OSError as exc:
            raise StoreError(write_refused_message(self.path.parent, exc)) from exc

    # -- lifecycle -------------------------------------------------------------------------------------------

    def close(self) -> None:
        self._db.close()

    def backup(self, dest: Path) -> Path:
        """A consistent copy of the whole catalog at `dest` (SQLite's online backup; writers may keep writing)."""
        target = sqlite3.connect(dest)
        try:
            self._db.backup(target)
        finally:
            target.close()
        return Path(dest)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> _Transaction:
        if self._readonly:  # a reader that now writes (rag remove): reopen read-write, or say why it cannot
            try:
                db = _connect_writer(self.path)
            except sqlite3.Error as exc:
                raise _write_error(self._db, exc) from exc
            self._db.close()
            self._db, self._readonly = db, False
            self._select = _chunk_select(db)
        return _Transaction(self._db)

    # -- reads -----------------------------------------------------------------------------------------------

    def generation(self) -> int:
        """Counter bumped by every committed change (BM25 and caches key on it)."""
        row = self._db.execute("SELECT value FROM state WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def manifest(self) -> Manifest | None:
        """The stored manifest, or None for a collection never written."""
        rows = self._db.execute("SELECT key, value FROM manifest").fetchall()
        if not rows:
            return None
        return Manifest.from_dict({k: json.loads(v) for k, v in rows})

    def iter_chunks(self) -> Iterator[tuple[str, str, str]]:
        """Every chunk as (id, text, source), in source then ordinal order (one consistent snapshot)."""
        cur = self._db.execute("SELECT id, text, source FROM chunks ORDER BY source, ordinal")
        for row in cur:
            yield row[0], row[1], row[2]

    def get_chunks(self, ids: Iterable[str]) -> dict[str, Chunk]:
        """The chunks with these ids (missing ids are simply absent)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Chunk] = {}
        for part in _batches(wanted):
            marks = ",".join("?" * len(part))
            for row in self._db.execute(f"SELECT {self._select} FROM chunks WHERE id IN ({marks})", part):
                found[row[0]] = _chunk_from_row(row)
        return found

    def chunks_of(self, source: str) -> list[Chunk]:
        """One file's chunks in order."""
        rows = self._db.execute(f"SELECT {self._select} FROM chunks WHERE source=? ORDER BY ordinal", (source,))
        return [_chunk_from_row(r) for r in rows]

    def chunk_ids(self, sources: Iterable[str] | None = None) -> set[str]:
        """Every chunk id, or those of these sources."""
        if sources is None:
            return {r[0] for r in self._db.execute("SELECT id FROM chunks")}
        found: set[str] = set()
        for part in _batches(list(sources)):
            marks = ",".join("?" * len(part))
            found |= {r[0] for r in self._db.execute(f"SELECT id FROM chunks WHERE source IN ({marks})", part)}
        return found

    def sources_of(self, ids: Iterable[str]) -> set[str]:
        """The sources owning these chunk ids."""
        found: set[str] = set()
        for part in _batches(list(ids)):
            marks = ",".join("?" * len(part))
            found |= {r[0] for r in self._db.execute(f"SELECT DISTINCT source FROM chunks WHERE id IN ({marks})", part)}
        return found

    def files(self, root: str | None = None) -> dict[str, FileRecord]:
        """Indexed files by source, all or those indexed from `root`."""
        if root is None:
            rows = self._db.execute("SELECT * FROM files")
        else:
            rows = self._db.execute("SELECT * FROM files WHERE root=?", (root,))
        return {r["source"]: _file_from_row(r) for r in rows}

    def counts(self) -> tuple[int, int]:
        """(files, chunks)."""
        files = self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(files), int(chunks)

    def last_indexed_at(self) -> float | None:
        row = self._db.execute("SELECT MAX(indexed_at) FROM files").fetchone()
        return row[0]

    # -- writes (each one transaction, each bumps the generation) -------------------------------------------

    def sentence_vectors(self, ids: Iterable[str], dim: int) -> dict[str, np.ndarray]:
        """The stored sentence vectors of these chunks as (n, dim) arrays (ids without any are absent; a catalog
        from before sentence vectors has none)."""
        found: dict[str, np.ndarray] = {}
        try:
            for part in _batches(list(dict.fromkeys(ids))):
                marks = ",".join("?" * len(part))
                for cid, blob in self._db.execute(f"SELECT id, vectors FROM sentences WHERE id IN ({marks})", part):
                    rows = sentence_vectors.unpack(blob, dim)
                    if rows is not None:
                        found[cid] = rows
        except sqlite3.OperationalError:  # no `sentences` table: written before them, opened read-only
            return {}
        return found

    def sentence_count(self) -> int:
        """Chunks that have sentence vectors (0 for a catalog from before them)."""
        try:
            return int(self._db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    def commit_files(
        self,
        entries: Sequence[tuple[FileRecord, Sequence[Chunk]]],
        manifest: Manifest | None = None,
        sentences: Mapping[str, bytes] | None = None,
    ) -> set[str]:
        """Replace each file's row and chunk rows (and the manifest, if given) atomically; `sentences`: sentence
        vectors by chunk id (`rag.store.sentence_vectors.quantize` bytes), stored with them.

        Returns the chunk ids these files had before and no longer have: the caller deletes them from Chroma.
        """
        dropped: set[str] = set()
        with self._tx() as db:
            for record, chunks in entries:
                old = {r[0] for r in db.execute("SELECT id FROM chunks WHERE source=?", (record.source,))}
                db.execute("DELETE FROM chunks WHERE source=?", (record.source,))
                db.executemany(
                    f"INSERT OR REPLACE INTO chunks({_CHUNK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            c.id,
                            c.text,
                            c.source,
                            c.ordinal,
                            c.char_start,
                            c.char_end,
                            c.page_start,
                            c.page_end,
                            json.dumps(list(c.heading_path), ensure_ascii=False),
                            c.file_sha256,
                            int(c.ocr),
                        )
                        for c in chunks
                    ],
                )
                db.execute(
                    "INSERT OR REPLACE INTO files(source, root, size, mtime_ns, sha256, kind, chunks, pages,"
                    " indexed_at, warnings, stale) VALUES (?,?,?,?,?,?,?,?,?,?,0)",
                    (
                        record.source,
                        record.root,
                        record.size,
                        record.mtime_ns,
                        record.sha256,
                        record.kind,
                        len(chunks),
                        record.pages,
                        record.indexed_at or time.time(),
                        json.dumps(list(record.warnings), ensure_ascii=False),
                    ),
                )
                gone = old - {c.id for c in chunks}
                _delete_sentences(db, gone)
                dropped |= gone
            if sentences:
                db.executemany("INSERT OR REPLACE INTO sentences(id, vectors) VALUES (?, ?)", list(sentences.items()))
            if manifest is not None:
                self._write_manifest(db, manifest)
            _bump(db)
        return dropped

    def remove_files(self, sources: Iterable[str]) -> set[str]:
        """Delete files and their chunks; returns the removed chunk ids (delete them from Chroma next)."""
        sources = list(sources)
        removed: set[str] = set()
        if not sources:
            return removed
        with self._tx() as db:
            for part in _batches(sources):
                marks = ",".join("?" * len(part))
                removed |= {r[0] for r in db.execute(f"SELECT id FROM chunks WHERE source IN ({marks})", part)}
                db.execute(f"DELETE FROM chunks WHERE source IN ({marks})", part)
                db.execute(f"DELETE FROM files WHERE source IN ({marks})", part)
            _delete_sentences(db, removed)
            _bump(db)
        return removed

    def touch_files(self, updates: Sequence[tuple[str, int, int]]) -> None:
        """Record new (source, size, mtime_ns) for files whose content hash did not change."""
        if updates:
            with self._tx() as db:
                db.executemany(
                    "UPDATE files SET size=?, mtime_ns=? WHERE source=?", [(s, m, src) for src, s, m in updates]
                )

    def mark_stale(self, sources: Iterable[str]) -> None:
        """Flag files whose vectors are (partly) missing, so the next sync re-embeds them."""
        sources = list(sources)
        if sources:
            with self._tx() as db:
                db.executemany("UPDATE files SET stale=1 WHERE source=?", [(s,) for s in sources])

    def write_manifest(self, manifest: Manifest) -> None:
        """Store the manifest (its own transaction)."""
        with self._tx() as db:
            self._write_manifest(db, manifest)

    def reset(self) -> None:
        """Forget everything: manifest, files and chunks (for --rebuild)."""
        with self._tx() as db:
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM sentences")
            db.execute("DELETE FROM files")
            db.execute("DELETE FROM manifest")
            _bump(db)

    @staticmethod
    def _write_manifest(db: sqlite3.Connection, manifest: Manifest) -> None:
        db.execute("DELETE FROM manifest")
        db.executemany(
            "INSERT INTO manifest(key, value) VALUES (?, ?)",
            [(k, json.dumps(v, ensure_ascii=False)) for k, v in manifest.to_dict().items()],
        )


def _delete_sentences(db: sqlite3.Connection, ids: Iterable[str]) -> None:
    for part in _batches(list(ids)):
        db.execute(f"DELETE FROM sentences WHERE id IN ({','.join('?' * len(part))})", part)


def _connect_writer(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    _add_ocr_column(db)
    if _chunk_columns(db):  # a catalog from before sentence vectors gets their (empty) table
        with contextlib.suppress(sqlite3.OperationalError):
            db.execute(_SENTENCES_TABLE)
    return db


def _chunk_columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(chunks)")}


def _add_ocr_column(db: sqlite3.Connection) -> None:
    """Give a catalog written before the OCR mark its `ocr` column (old chunks: 0); new catalogs have it."""
    columns = _chunk_columns(db)
    if columns and "ocr" not in columns:
        with contextlib.suppress(sqlite3.OperationalError):  # another writer added it first
            db.execute("ALTER TABLE chunks ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0")


def _chunk_select(db: sqlite3.Connection) -> str:
    """The chunk columns to select: a read-only catalog from before the OCR mark has no `ocr` column."""
    columns = _chunk_columns(db)
    return _CHUNK_COLUMNS if not columns or "ocr" in columns else _CHUNK_COLUMNS_BEFORE_OCR


def _connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: `mode=ro` (sees a live writer's commits through WAL), else, when the folder does not
    let us create WAL's shared-memory file (read-only, not ours, or full), `immutable=1`, which reads the file as
    it is and writes nothing at all."""
    uri = path.absolute().as_uri()
    error: sqlite3.Error | None = None
    for flags in ("mode=ro", "mode=ro&immutable=1"):
        db = sqlite3.connect(f"{uri}?{flags}", uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.Error as exc:
            db.close()
            error = exc
    assert error is not None
    raise error


def write_refused(exc: BaseException) -> bool:
    """True when `exc` says the disk or folder refuses writes (read-only, no permission, full)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT)
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "disk is full", "disk full", "unable to open database"))


def write_refused_message(folder: Path, exc: BaseException) -> str:
    """ "the index folder X is read-only" / "the disk is full", with the fix, for an error `_write_refused` accepts."""
    full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or "full" in str(exc).lower()
    if full:
        return (
            f"The disk holding the index folder {folder} is full ({exc}). Free some space, or pick another "
            "folder with --index / RAG_INDEX; what was indexed so far is kept."
        )
    return (
        f"The index folder {folder} is read-only for this user ({exc}). Writing needs write access: run as its "
        "owner, fix its permissions, or pick another folder with --index / RAG_INDEX. Reading (rag ask, "
        "rag status) works as it is."
    )


def _bump(db: sqlite3.Connection) -> None:
    db.execute("UPDATE state SET value = value + 1 WHERE key='generation'")


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception; sqlite errors become StoreError."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _write_error(self._db, exc) from exc
        return self._db

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error as err:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise _write_error(self._db, err) from err
        with contextlib.suppress(sqlite3.Error):  # a failed statement may have rolled back already
            self._db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _write_error(self._db, exc) from exc


def _write_error(db: sqlite3.Connection, exc: sqlite3.Error) -> StoreError:
    if write_refused(exc):
        row = db.execute("PRAGMA database_list").fetchone()
        folder = Path(row[2]).parent if row and row[2] else Path(".")
        return StoreError(write_refused_message(folder, exc))
    return StoreError(f"Cannot write the catalog: {exc}")
