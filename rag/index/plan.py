"""Plan a sync of one folder against the catalog: what to embed, what is unchanged, what is gone.

Unchanged files cost a stat (size and mtime_ns match the catalog); a file whose stat changed but whose sha256 did not
only gets its new stat recorded. A folder or file that cannot be read is skipped and keeps its indexed chunks: it is
never taken for deleted. Nothing here writes.

Keys: a root's files are keyed `<root key>/<rel>`. The root key is the folder's name, unless another indexed root
already uses that name: then `<name>~<parent name>` (then `~2`, `~3`, ...). A root keeps the key its files already
have, so existing indexes read the same. A path inside an indexed root (a file or a subfolder) is synced as that part
of the root, under the root's key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest.discover import SourceFile, escape_name, scan
from rag.index.report import IGNORED, SKIPPED, FileOutcome
from rag.store.catalog import FileRecord

CONFLICT_REASON = "another indexed folder ({other}) has the same name; rename one of them or `rag remove` the other"
DUPLICATE_REASON = "another file here has the same name once undecodable bytes are escaped; rename one of them"


@dataclass
class SyncPlan:
    """The work of one sync, decided before anything is written."""

    root: Path
    """The indexed root the synced path belongs to (the path itself, or the indexed folder it lies in)."""
    todo: list[tuple[SourceFile, FileRecord | None]] = field(default_factory=list)
    """Files to extract and embed, with their current catalog record (None: new)."""
    unchanged: int = 0
    touched: list[tuple[str, int, int]] = field(default_factory=list)
    """(source, size, mtime_ns) of files whose content hash is unchanged."""
    gone: list[FileRecord] = field(default_factory=list)
    """Catalog files under the synced path that are no longer there (or are now skipped)."""
    skipped: list[FileOutcome] = field(default_factory=list)
    """Files skipped before extraction (e.g. over the size limit, name clash, unreadable)."""
    key: str = ""
    """The root's key prefix."""
    within: str = ""
    """The synced part of `root` (relative, posix; "" for all of it)."""
    ignored: list[FileOutcome] = field(default_factory=list)
    """Files not indexed by type ("unsupported type .key"), status "ignored"."""
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)
    """(size, mtime_ns) of every file seen, by source (to remember skips)."""


def _hash_or_none(src: SourceFile) -> str | None:
    try:
        return src.sha256()
    except OSError:
        return None


def _first(source: str) -> str:
    return source.split("/", 1)[0]


def root_key(root: Path, indexed: Mapping[str, FileRecord]) -> str:
    """The key prefix of `root`'s files: the one they already have, else its name unless another root uses it."""
    mine = str(root)
    for source, record in indexed.items():
        if record.root == mine:
            return _first(source)
    used = {_first(s) for s, r in indexed.items() if r.root != mine}
    base = escape_name(root.name)
    if base not in used:
        return base
    parent = escape_name(root.parent.name)
    if parent and f"{base}~{parent}" not in used:
        return f"{base}~{parent}"
    n = 2
    while f"{base}~{n}" in used:
        n += 1
    return f"{base}~{n}"


def containing_root(path: Path, indexed: Mapping[str, FileRecord]) -> Path | None:
    """The innermost indexed root that is `path` or contains it."""
    best: Path | None = None
    for root in map(Path, {r.root for r in indexed.values()}):
        if (root == path or root in path.parents) and (best is None or len(root.parts) > len(best.parts)):
            best = root
    return best


def _under(source: str, prefix: str) -> bool:
    return source == prefix or source.startswith(prefix + "/")


def plan_sync(
    root: Path,
    indexed: dict[str, FileRecord],
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_file_bytes: int,
    skip_dirs: Iterable[Path] = (),
) -> SyncPlan:
    """Compare the folder (or file) `root` with `indexed` (every catalog file, all roots) and decide each file's
    fate."""
    path = Path(root).resolve()
    base = containing_root(path, indexed)
    if base is None:
        base = path if path.is_dir() else path.parent
    within = path.relative_to(base).as_posix() if path != base else ""
    within = "" if within == "." else within
    key = root_key(base, indexed)
    plan = SyncPlan(root=base, key=key, within=within)
    found = scan(
        base,
        include=include,
        exclude=exclude,
        max_file_bytes=max_file_bytes,
        skip_dirs=skip_dirs,
        key=key,
        within=within,
    )
    base_key = str(base)
    mine = {s: r for s, r in indexed.items() if r.root == base_key}
    seen: set[str] = set()
    for src in found.files:
        plan.stats[src.source] = (src.size, src.mtime_ns)
        record = indexed.get(src.source)
        if record is not None and record.root != base_key:
            plan.skipped.append(FileOutcome(src.source, SKIPPED, CONFLICT_REASON.format(other=record.root)))
            continue
        if src.source in seen:
            plan.skipped.append(FileOutcome(src.source, SKIPPED, DUPLICATE_REASON))
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
    for bad in found.unreadable:  # skipped, and whatever is indexed under it is kept
        kept = (
            [s for s in mine if bad.rel == "" or _under(s, bad.source)]
            if bad.is_dir
            else [bad.source]
            if bad.source in mine
            else []
        )
        seen.update(kept)
        plan.skipped += [FileOutcome(s, SKIPPED, bad.reason) for s in kept]
        if not kept and (bad.is_dir or bad.kind is not None):
            plan.skipped.append(FileOutcome(bad.source + ("/" if bad.is_dir else ""), SKIPPED, bad.reason))
    scope = f"{key}/{escape_name(within)}" if within else None
    plan.gone = [r for s, r in mine.items() if s not in seen and (scope is None or _under(s, scope))]
    plan.ignored = [FileOutcome(source, IGNORED, reason) for source, reason in found.ignored]
    return plan
