"""The OCR mark on chunks: stored in the catalog and in Chroma metadata; catalogs from before it stay readable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ingest.chunking import Chunk
from rag.store.catalog import Catalog, FileRecord
from rag.store.chroma import chunk_from_row, chunk_metadata

_OLD_CHUNKS = """CREATE TABLE chunks(
    id TEXT PRIMARY KEY, source TEXT NOT NULL, ordinal INTEGER NOT NULL, text TEXT NOT NULL,
    char_start INTEGER NOT NULL, char_end INTEGER NOT NULL, page_start INTEGER, page_end INTEGER,
    heading_path TEXT NOT NULL, file_sha256 TEXT NOT NULL)"""


def _chunk(ordinal: int, *, ocr: bool) -> Chunk:
    text = f"page {ordinal + 1} text"
    return Chunk(f"id{ordinal}", text, "r/scan.pdf", ordinal, 20 * ordinal, 20 * ordinal + len(text),
                 ordinal + 1, ordinal + 1, (), "s" * 64, ocr=ocr)  # fmt: skip


def _record(n: int) -> FileRecord:
    return FileRecord(source="r/scan.pdf", root="/r", size=9, mtime_ns=1, sha256="s" * 64, kind="pdf", chunks=n)


def test_catalog_round_trips_the_mark(tmp_path: Path) -> None:
    chunks = [_chunk(0, ocr=False), _chunk(1, ocr=True)]
    with Catalog(tmp_path / "c.catalog.sqlite") as catalog:
        catalog.commit_files([(_record(2), chunks)])
    with Catalog(tmp_path / "c.catalog.sqlite", create=False) as reader:
        assert reader.chunks_of("r/scan.pdf") == chunks
        assert [c.ocr for c in reader.get_chunks(["id1", "id0"]).values()] == [False, True]


def _old_catalog(path: Path) -> None:
    """A catalog as written before the mark: its chunks table has no `ocr` column."""
    with Catalog(path) as catalog:
        catalog.commit_files([(_record(1), [_chunk(0, ocr=False)])])
    db = sqlite3.connect(path)
    db.executescript(
        "BEGIN; ALTER TABLE chunks RENAME TO new_chunks;"
        f"{_OLD_CHUNKS};"
        "INSERT INTO chunks SELECT id, source, ordinal, text, char_start, char_end, page_start, page_end,"
        " heading_path, file_sha256 FROM new_chunks; DROP TABLE new_chunks; COMMIT;"
    )
    db.close()
    assert "ocr" not in {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(chunks)")}


def test_catalog_from_before_the_mark_is_read_then_upgraded_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "old.catalog.sqlite"
    _old_catalog(path)
    with Catalog(path, create=False) as reader:  # read-only: nothing is altered
        [old] = reader.chunks_of("r/scan.pdf")
        assert old.text == "page 1 text" and old.ocr is False
    assert "ocr" not in {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(chunks)")}
    with Catalog(path) as writer:
        assert [c.ocr for c in writer.chunks_of("r/scan.pdf")] == [False]
        writer.commit_files([(_record(2), [_chunk(0, ocr=False), _chunk(1, ocr=True)])])
        assert [c.ocr for c in writer.chunks_of("r/scan.pdf")] == [False, True]


def test_chroma_metadata_carries_the_mark_and_old_rows_read_as_unmarked() -> None:
    marked, plain = _chunk(1, ocr=True), _chunk(0, ocr=False)
    meta = chunk_metadata(marked, "pdf")
    assert meta["ocr"] is True and "ocr" not in chunk_metadata(plain, "pdf")
    assert chunk_from_row(marked.id, marked.text, meta) == marked
    assert chunk_from_row(plain.id, plain.text, chunk_metadata(plain, "pdf")).ocr is False
