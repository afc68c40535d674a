"""How many vectors an embedded Chroma collection holds, read from its SQLite file without importing chromadb.

`rag status` only needs a count, and importing chromadb costs seconds on a small machine. The embedded store keeps
one row per record in `embeddings` for the collection's METADATA segment; writes pass through `embeddings_queue`
first. When the file is absent, its schema is not the one expected, or the queue holds writes the segment has not
applied yet, the answer is None and the caller asks Chroma itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_COUNT = """
SELECT s.id, COUNT(e.id) FROM collections c JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA'
LEFT JOIN embeddings e ON e.segment_id = s.id WHERE c.name = ? GROUP BY s.id
"""


def embedded_count(chroma_dir: Path, collection: str) -> int | None:
    """The collection's record count, or None when it cannot be read this way (then use ChromaStore.count())."""
    state = embedded_state(chroma_dir, collection)
    return state[2] if state is not None else None


def embedded_state(chroma_dir: Path, collection: str) -> tuple[str, int, int] | None:
    """(metadata segment id, last write applied to it, record count) of the collection, or None as for
    `embedded_count`.

    Every upsert and delete goes through Chroma's write log, whose sequence number only grows, so an unchanged state
    means nothing was written since it was read (a dropped and re-made collection has another segment id).
    """
    path = Path(chroma_dir) / "chroma.sqlite3"
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        rows = db.execute(_COUNT, (collection,)).fetchall()
        if len(rows) != 1:
            return None
        segment, count = rows[0]
        row = db.execute("SELECT seq_id FROM max_seq_id WHERE segment_id = ?", (segment,)).fetchone()
        applied = _seq(row[0]) if row is not None else None
        newest = db.execute("SELECT MAX(seq_id) FROM embeddings_queue").fetchone()
        if newest and newest[0] is not None and (applied is None or applied < _seq(newest[0])):
            return None  # writes not yet applied to the segment: Chroma would count them
        return str(segment), applied if applied is not None else -1, int(count)
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        db.close()


def _seq(value: object) -> int:
    """A sequence number as stored: an integer, or big-endian bytes in older schemas."""
    return int.from_bytes(value, "big") if isinstance(value, bytes) else int(value)  # type: ignore[call-overload]


__all__ = ["embedded_count", "embedded_state"]
