"""A writer's last step on a Chroma server: keep the readers' pack (`rag.store.pack`) fresh enough.

After a run, the writer brings its own reader mirror up to the server (cheap after the first time: by writer
generation), updates that mirror's BM25 by file, and stores both as a new pack when the collection is large enough
and the current pack is missing, of another physical collection (a rebuild switched), or behind by a tenth of its
rows. Readers catch up on the rest themselves, so a pack that is a little behind costs them a few pages of rows.
"""

from __future__ import annotations

import json
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rag.retrieve import bm25
from rag.store.manifest import now_iso
from rag.store.pack import PackHeader

if TYPE_CHECKING:
    from rag.store import IndexHandle
    from rag.store.chroma import ChromaStore

STALE_FRACTION = 0.1
"""A pack is replaced once this share of its rows (at least STALE_MIN_ROWS) was written after it."""
STALE_MIN_ROWS = 1000


def _written_since(store: ChromaStore, header: PackHeader) -> int:
    """Rows written after the pack (by writer generation; deletions are not counted: readers list those cheaply)."""
    assert store.registry is not None
    total = 0
    for w, record in store.registry.state().writers.items():
        last = header.seen.get(w)
        if record.generation == last:
            continue
        where = {"writer": w} if last is None else {"$and": [{"writer": w}, {"gen": {"$gt": last}}]}
        total += sum(1 for _ in store.iter_ids(where))
    return total


def refresh_pack(index: IndexHandle, min_chunks: int, *, force: bool = False) -> str | None:
    """Publish a new reader pack when due (see the module docstring); a one-line note when one was stored."""
    from rag.store.server_catalog import ServerCatalog

    reader = index.open_reader()
    assert isinstance(reader, ServerCatalog)
    with reader:
        reader.refresh()
        state = reader.synced_state()
        rows = reader.counts()[1]
        if rows < min_chunks or not rows:
            return None
        store = reader.store()
        packs = store.packs()
        header = packs.header()
        current = not force and header is not None and header.physical == state["physical"]
        if (
            current
            and header is not None
            and _written_since(store, header) < max(STALE_MIN_ROWS, STALE_FRACTION * header.rows)
        ):
            return None
        stem = index.reader_bm25
        bm25.load_or_build(reader, stem)
        with tempfile.TemporaryDirectory(dir=index.layout.home, prefix=".pack-") as tmp:
            folder = Path(tmp)
            members = {"mirror.sqlite": reader.copy_mirror(folder / "mirror.sqlite")}
            state_file = folder / "state.json"
            state_file.write_text(json.dumps(state), encoding="utf-8")
            members["state.json"] = state_file
            for file in bm25.stored_files(stem):
                members["bm25" + file.name[len(stem.name) :]] = file
            stored = packs.publish(
                members,
                PackHeader(
                    tag=secrets.token_hex(6),
                    physical=str(state["physical"]),
                    generation=int(state["generation"]),
                    seen={str(k): int(v) for k, v in dict(state.get("seen") or {}).items()},
                    rows=rows,
                    made_at=now_iso(),
                ),
            )
    return f"stored a reader pack of {rows} chunks on the server ({stored.size / 1e6:.1f} MB)"


__all__ = ["STALE_FRACTION", "STALE_MIN_ROWS", "refresh_pack"]
