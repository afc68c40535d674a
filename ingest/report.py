"""What happened to one file in the ingest stage (the CLI prints it; --json emits `to_dict()`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

OK = "ok"
SKIPPED = "skipped"


@dataclass(frozen=True)
class FileReport:
    """Outcome of extracting one file."""

    source: str
    status: str
    """"ok" (chunks were made) or "skipped" (see `reason`)."""
    reason: str | None = None
    """Why the file was skipped, in a few words that say the fix where there is one."""
    warnings: tuple[str, ...] = ()
    """Problems that did not stop the file (garbled pages, page or chunk limits, ...)."""
    pages: int | None = None
    """PDF pages in the document (None for other kinds)."""
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
