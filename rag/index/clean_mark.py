"""The clean-run mark: proof that Chroma agreed with the catalog when the last write run ended, so a run with nothing
to do may skip opening Chroma and reconcile's listing of every vector id.

`<collection>.synced` in the index folder holds the catalog generation and chunk count a completed run left, with
Chroma's state then (segment, last applied write, vector count, read from its SQLite file without chromadb). A run
that may write Chroma deletes the mark first (and syncs the folder), so a crash or interruption anywhere after that
leaves no mark and the next run reconciles in full. The mark counts only while the catalog is at its generation and
Chroma's state is unchanged, so even a write to Chroma from outside rag is seen; anything else, including a mark
that cannot be read, means "reconcile". Embedded stores only: on a Chroma server other writers change the
collection without this folder knowing.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from rag.store.catalog import Catalog
from rag.store.chroma_count import embedded_state
from rag.store.layout import IndexLayout

SUFFIX = ".synced"


def mark_path(lay: IndexLayout) -> Path:
    """Where the mark of `lay`'s collection lives."""
    return lay.home / f"{lay.collection}{SUFFIX}"


def forget(lay: IndexLayout) -> None:
    """Drop the mark before anything may write Chroma (durably: the folder is synced after the unlink)."""
    path = mark_path(lay)
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _sync_dir(path.parent)


def record(lay: IndexLayout, catalog: Catalog) -> None:
    """Write the mark for the catalog's current state (call only when the run completed without error)."""
    if lay.chroma_url or lay.chroma_dir is None:
        return
    chroma = embedded_state(lay.chroma_dir, lay.physical)
    chunks = catalog.counts()[1]
    if chroma is None or chroma[2] != chunks:
        return  # Chroma cannot be read this way, or disagrees: the next run reconciles
    path = mark_path(lay)
    tmp = path.with_name(path.name + ".tmp")
    body = json.dumps(
        {"generation": catalog.generation(), "chunks": chunks, "chroma": list(chroma), "physical": lay.physical}
    )
    with contextlib.suppress(OSError):  # no mark only costs the next run a full reconcile
        tmp.write_text(body, encoding="utf-8")
        os.replace(tmp, path)


def is_clean(lay: IndexLayout, catalog: Catalog) -> bool:
    """True when the mark matches the catalog's generation and count and Chroma's state (embedded store only)."""
    if lay.chroma_url or lay.chroma_dir is None:
        return False
    try:
        mark = json.loads(mark_path(lay).read_text(encoding="utf-8"))
        generation, chunks, chroma = int(mark["generation"]), int(mark["chunks"]), tuple(mark["chroma"])
        physical = str(mark.get("physical", lay.collection))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if physical != lay.physical:  # the mark is of another build (a rebuild stopped before or after its switch)
        return False
    if generation != catalog.generation() or chunks != catalog.counts()[1]:
        return False
    return embedded_state(lay.chroma_dir, lay.physical) == chroma


def _sync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # e.g. a file system without directory fsync
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["SUFFIX", "forget", "is_clean", "mark_path", "record"]
