"""Work done inside unfinished files, from their page and embedding events, so a rate and ETA hold on one big file.

A file's work (`ingest.precheck.work`) is split between extraction (`EXTRACT_SHARE`) and embedding. Extraction moves
with page events: a text-layer page costs 1, an OCR'd page `OCR_PAGE_FACTOR`, so a scan's fast text pass is a small
part of its extraction; embedding moves with the file's chunks embedded. Each file's share only grows, and a
finished file counts its whole work.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from ingest.precheck import OCR_PAGE_FACTOR
from ingest.report import PageProgress

EXTRACT_SHARE = 0.5
"""Share of a file's work counted as done once it is extracted (the rest as its chunks are embedded)."""


class WorkMeter:
    """Thread-safe running total of work done: finished files in full, unfinished ones by their share done."""

    def __init__(self, weights: Mapping[str, int]) -> None:
        self.weights = dict(weights)
        self.finished = 0
        self._extracted: dict[str, float] = {}
        self._embedded: dict[str, float] = {}
        self._text_pages: dict[str, int] = {}
        self._lock = threading.Lock()

    def page(self, event: PageProgress) -> None:
        """A page event of a file being extracted."""
        with self._lock:
            if event.stage == "text":
                self._text_pages[event.source] = event.total
                share = event.done / max(1, event.total + OCR_PAGE_FACTOR * event.scans)
            else:
                text = self._text_pages.get(event.source, 0)
                share = (text + OCR_PAGE_FACTOR * event.done) / max(1, text + OCR_PAGE_FACTOR * event.total)
            self._raise(self._extracted, event.source, share)

    def embedded(self, source: str, done: int, total: int) -> None:
        """`done` of the file's `total` chunks are embedded (it is extracted)."""
        with self._lock:
            self._raise(self._extracted, source, 1.0)
            self._raise(self._embedded, source, done / max(1, total))

    def finish(self, source: str) -> None:
        """The file is done (stored, skipped or failed): its whole work counts."""
        with self._lock:
            self._extracted.pop(source, None)
            self._embedded.pop(source, None)
            self._text_pages.pop(source, None)
            self.finished += self.weights.get(source, 0)

    def done(self) -> int:
        """Work units done: whole finished files plus the shares of unfinished ones (never more than the total)."""
        with self._lock:
            partial = sum(
                self.weights.get(s, 0) * (EXTRACT_SHARE * e + (1 - EXTRACT_SHARE) * self._embedded.get(s, 0.0))
                for s, e in self._extracted.items()
            )
            return self.finished + int(partial)

    @staticmethod
    def _raise(shares: dict[str, float], source: str, share: float) -> None:
        shares[source] = max(shares.get(source, 0.0), min(1.0, share))
