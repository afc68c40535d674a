"""Plan a sync of one folder against the catalog: what to embed, what is unchanged, what is gone.

Unchanged files cost a stat (size and mtime_ns match the catalog); a file whose stat changed but whose sha256 did not
only gets its new stat recorded. Nothing here writes.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.discover import SourceFile, discover
from rag.index.report import IGNORED, SKIPPED, FileOutcome
from rag.store.catalog import FileRecord

CONFLICT_REASON = "another indexed folder ({other}) has the same name; rename one of them or `rag remove` the other"


@dataclass
class SyncPlan:
    """The work of one sync, decided before anything is written."""

    root: Path
    todo: list[tuple[SourceFile, FileRecord | None]] = field(default_factory=list)
    """Files to extract and embed, with their current catalog record (None: new)."""
    unchanged: int = 0
    touched: list[tuple[str, int, int]] = field(default_factory=list)
    """(source, size, mtime_ns) of files whose content hash is unchanged."""
    gone: list[FileRecord] = field(default_factory=list)
    """Catalog files under this root that are no longer in the folder (or are now skipped)."""
    skipped: list[FileOutcome] = field(default_factory=list)
    """Files skipped before extraction (e.g. over the size limit, name clash)."""
    ignored: list[FileOutcome] = field(default_factory=list)
    """Files not indexed by type ("unsupported type .key"), status "ignored"."""
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(size, mtime_ns) of every file seen, by source (to remember skips)."""


def _hash_or_none(src: SourceFile) -> str | None:
    try:
        return src.sha256()
    except OSError:
        return None


def plan_sync(
    root: Path,
    indexed: dict[str, FileRecord],
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_file_bytes: int,
    skip_dirs: Iterable[Path] = (),
) -> SyncPlan:
    """Compare the folder with `indexed` (every catalog file, all roots) and decide each file's fate."""
    root = Path(root).resolve()
    plan = SyncPlan(root=root)
    root_key = str(root)
    seen: set[str] = set()
    ignored: list[tuple[str, str]] = []
    for src in discover(root, include=include, exclude=exclude, max_file_bytes=max_file_bytes, skip_dirs=skip_dirs,
                        ignored=ignored):
        plan.stats[src.source] = (src.size, src.mtime_ns)
        record = indexed.get(src.source)
        if record is not None and record.root != root_key:
            plan.skipped.append(FileOutcome(src.source, SKIPPED, CONFLICT_REASON.format(other=record.root)))
            continue
        seen.add(src.source)
        if src.skip_reason:
            plan.skipped.append(FileOutcome(src.source, SKIPPED, src.skip_reason))
            seen.discard(src.source)  # a previously indexed file that is now skipped leaves the index
            continue
        if record is None or record.stale:
            plan.todo.append((src, record))
        elif record.size == src.size and record.mtime_ns == src.mtime_ns:
            plan.unchanged += 1
        elif record.size == src.size and _hash_or_none(src) == record.sha256:
            plan.unchanged += 1
            plan.touched.append((src.source, src.size, src.mtime_ns))
        else:
            plan.todo.append((src, record))
    plan.gone = [r for s, r in indexed.items() if r.root == root_key and s not in seen]
    plan.ignored = [FileOutcome(source, IGNORED, reason) for source, reason in ignored]
    return plan
