"""Which files were skipped in earlier runs, and in what state: so an unchanged skipped file is "still skipped"
and does not fail every later `rag index` (exit code 1 is for files new or changed in this run).

Kept beside the catalog as `<collection>.skipped.json` ({source: [size, mtime_ns, reason]}), written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from rag.index.report import FAILED, IGNORED, SKIPPED, FileOutcome

SUFFIX = ".skipped.json"


def path_for(home: Path, collection: str) -> Path:
    return home / f"{collection}{SUFFIX}"


class SkipMemory:
    """Files skipped before, by source, with the size and mtime_ns they had then."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, tuple[int, int, str]] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            self.entries = {str(k): (int(v[0]), int(v[1]), str(v[2])) for k, v in raw.items()}
        except (OSError, ValueError, TypeError, IndexError, AttributeError):
            self.entries = {}  # absent or damaged: every skip counts as new, which is the safe side

    def seen(self, source: str, size: int, mtime_ns: int, reason: str) -> bool:
        """Was this file skipped before for the same reason, and is it unchanged since?"""
        return self.entries.get(source) == (size, mtime_ns, reason)

    def update(self, skipped: dict[str, tuple[int, int, str]], resolved: set[str]) -> None:
        """Record this run's skips; forget files now indexed, removed or no longer skipped (`resolved`)."""
        for source in resolved:
            self.entries.pop(source, None)
        self.entries.update(skipped)

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps({k: list(v) for k, v in sorted(self.entries.items())}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass  # losing the memory only makes old skips count as new again


def mark_still(
    outcomes: list[FileOutcome], stats: dict[str, tuple[int, int]], path: Path, *, save: bool
) -> list[FileOutcome]:
    """`outcomes` with `still=True` on skips already remembered for the same file state; records this run's skips
    (when `save`) and forgets files that are no longer skipped."""
    memory = SkipMemory(path)
    out: list[FileOutcome] = []
    skipped: dict[str, tuple[int, int, str]] = {}
    resolved: set[str] = set()
    for o in outcomes:
        stat = stats.get(o.source)
        if o.status in (SKIPPED, FAILED) and stat is not None:
            if memory.seen(o.source, *stat, o.reason or ""):
                o = dataclasses.replace(o, still=True)
            skipped[o.source] = (*stat, o.reason or "")
        elif o.status != IGNORED:
            resolved.add(o.source)
        out.append(o)
    if save:
        memory.update(skipped, {s for s in resolved if s not in skipped})
        memory.save()
    return out
