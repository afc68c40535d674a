"""Work done inside unfinished files, from their page and embedding events, so a rate and ETA hold on one big file.

A file's work (`ingest.precheck.work`) is split between extraction (`EXTRACT_SHARE`) and embedding. Extraction moves
with page events: a text-layer page costs 1, an OCR'd page `OCR_PAGE_FACTOR`, so a scan's fast text pass is a small
part of its extraction; embedding moves with the file's chunks embedded. Each file's share only grows, and a
finished file counts its whole work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from ingest.precheck import OCR_PAGE_FACTOR
from ingest.report import PageProgress
from rag.index.report import FileOutcome, IndexProgress

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


class ProgressRelay:
    """Turns the pipeline's file, page and embedding events into `IndexProgress` events, one at a time.

    Events come from the extraction, embedding and writer threads; `current` is the first file in `order` not done.
    """

    def __init__(self, emit: Callable[[IndexProgress], None], order: Sequence[str], weights: Mapping[str, int]) -> None:
        self._emit = emit
        self._order = list(order)
        self._meter = WorkMeter(weights)
        self._work_total = sum(weights.values())
        self._files_done = 0
        self._chunks = 0
        self._first_open = 0
        self._finished: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        """The run's first event: how many files and how much work."""
        current = self._order[0] if self._order else None
        self._emit(IndexProgress("start", files_total=len(self._order), work_total=self._work_total, current=current))

    def on_outcome(self, outcome: FileOutcome, chunks: int) -> None:
        """A file is done; `chunks`: chunks stored so far in the run."""
        with self._lock:
            self._files_done, self._chunks = self._files_done + 1, chunks
            self._meter.finish(outcome.source)
            self._finished.add(outcome.source)
            while self._first_open < len(self._order) and self._order[self._first_open] in self._finished:
                self._first_open += 1
            current = self._order[self._first_open] if self._first_open < len(self._order) else None
            self._emit(
                IndexProgress(
                    "file",
                    files_done=self._files_done,
                    files_total=len(self._order),
                    chunks=chunks,
                    outcome=outcome,
                    work_done=self._meter.done(),
                    work_total=self._work_total,
                    current=current,
                )
            )

    def on_page(self, event: PageProgress) -> None:
        """A page of a file being extracted."""
        self._meter.page(event)
        self._stage(event.source, event.stage, event.done, event.total)

    def on_embedded(self, source: str, chunks_done: int, chunks: int) -> None:
        """`chunks_done` of a file's `chunks` are embedded."""
        self._meter.embedded(source, chunks_done, chunks)
        self._stage(source, "embed", chunks_done, chunks)

    def _stage(self, source: str, stage: str, stage_done: int, stage_total: int) -> None:
        with self._lock:
            if source in self._finished:
                return
            self._emit(
                IndexProgress(
                    "page",
                    files_done=self._files_done,
                    files_total=len(self._order),
                    chunks=self._chunks,
                    work_done=self._meter.done(),
                    work_total=self._work_total,
                    current=source,
                    stage=stage,
                    stage_done=stage_done,
                    stage_total=stage_total,
                )
            )
