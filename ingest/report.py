"""What happened to one file in the ingest stage (the CLI prints it; --json emits `to_dict()`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

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


PageStage = Literal["text", "ocr"]
"""What a page event counts: pages whose text layer was read, or pages OCR'd (the slow pass over scans)."""


@dataclass(frozen=True)
class PageProgress:
    """Progress inside one file, reported while it is being extracted (by a worker over its pipe, or in-process)."""

    source: str
    stage: PageStage
    done: int
    """Pages of this stage finished, 1..total, increasing."""
    total: int
    """Pages this stage will do (the pages read; or the pages to OCR, known once the text layer is read)."""
    scans: int = 0
    """Pages found to need OCR: so far (stage "text"), or all of them (stage "ocr", equal to `total`)."""
