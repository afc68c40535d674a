"""File -> (report, chunks), alone or for many files in worker processes with a per-file time limit."""

from __future__ import annotations

import selectors
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ingest.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_TOKENS, Chunk, chunk
from ingest.discover import SourceFile
from ingest.errors import IngestError
from ingest.frames import PAGE, READY, START_TIMEOUT_S, WorkerProcess
from ingest.loaders import DEFAULT_MAX_PAGES, WORKER_KINDS, load
from ingest.report import OK, SKIPPED, FileReport, PageProgress, PageStage

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_CHUNKS_PER_FILE = 20000
DEFAULT_WORKERS = 2
"""Worker processes for PDFs and big files (measured on 2 cores: see BENCHMARKS.md, "Ingest")."""
IN_PROCESS_MAX_BYTES = 1 << 20
"""Non-PDF files up to this size are extracted in the calling process: a worker round trip costs more than they do."""
_READ_AHEAD = 8  # files in flight beyond the next one to yield, per worker
PAGE_EVENTS_PER_STAGE = 100
"""At most about this many text-layer page events per file (each OCR'd page always gets one: OCR is slow)."""
OnProgress = Callable[[PageProgress], None]
"""Hears `PageProgress` events while a file is extracted."""


@dataclass(frozen=True)
class ExtractParams:
    """How to extract and chunk files."""

    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    """Chunk size in estimated tokens."""
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    """Overlap between consecutive chunks, in estimated tokens."""
    pdf_password: str | None = None
    """Tried on every encrypted PDF the empty password does not open."""
    pdf_passwords: Mapping[str, str] = field(default_factory=dict)
    """Per-file passwords by `SourceFile.source`; they win over `pdf_password`."""
    max_pages: int = DEFAULT_MAX_PAGES
    max_chunks_per_file: int = DEFAULT_MAX_CHUNKS_PER_FILE
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Per-file time limit in seconds (enforced by `extract_many` with workers)."""
    ocr: bool = True
    """OCR scanned PDF pages and images (needs the [ocr] extra)."""

    def __post_init__(self) -> None:
        if self.chunk_tokens < 1 or not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ValueError(
                f"need chunk_tokens >= 1 and 0 <= chunk_overlap < chunk_tokens "
                f"(got {self.chunk_tokens}, {self.chunk_overlap})"
            )
        if self.max_pages < 1 or self.max_chunks_per_file < 1 or self.timeout_s <= 0:
            raise ValueError("max_pages, max_chunks_per_file and timeout_s must be positive")

    def password_for(self, source: str) -> str | None:
        return self.pdf_passwords.get(source, self.pdf_password)


class _PageEvents:
    """`ingest.loaders.OnPage` -> `PageProgress` events, thinned to about `PAGE_EVENTS_PER_STAGE` per text stage
    (first, every total/100th, and last page); every OCR'd page is reported."""

    def __init__(self, source: str, on_progress: OnProgress) -> None:
        self.source, self.on_progress = source, on_progress
        self.last: dict[str, int] = {}

    def __call__(self, stage: str, done: int, total: int, scans: int) -> None:
        step = 1 if stage == "ocr" else max(1, -(-total // PAGE_EVENTS_PER_STAGE))
        last = self.last.get(stage, 0)
        if done in (1, total) or done - last >= step:
            self.last[stage] = done
            kind: PageStage = "ocr" if stage == "ocr" else "text"
            self.on_progress(PageProgress(self.source, kind, done, total, scans))


def extract(
    src: SourceFile, params: ExtractParams = ExtractParams(), on_progress: OnProgress | None = None
) -> tuple[FileReport, list[Chunk]]:
    """Load and chunk one file. Never raises for a bad file: it comes back as a "skipped" report with a reason.

    `on_progress` hears `PageProgress` events from inside the file (PDF pages read, pages and image frames OCR'd),
    in order, the last of each stage with `done == total`."""
    on_page = _PageEvents(src.source, on_progress) if on_progress is not None else None
    try:
        doc = load(
            src,
            pdf_password=params.password_for(src.source),
            max_pages=params.max_pages,
            ocr=params.ocr,
            on_page=on_page,
        )
        chunks = chunk(doc, params.chunk_tokens, params.chunk_overlap)
    except IngestError as exc:
        return FileReport(src.source, SKIPPED, reason=exc.reason), []
    except Exception as exc:  # a parser bug on a strange file must not stop the run
        return FileReport(src.source, SKIPPED, reason=f"extraction failed: {type(exc).__name__}: {exc}"), []
    pages = len(doc.pages) if doc.pages else None
    if not chunks:
        return FileReport(src.source, SKIPPED, reason="no text", warnings=doc.warnings, pages=pages), []
    warnings = list(doc.warnings)
    if len(chunks) > params.max_chunks_per_file:
        warnings.append(
            f"only the first {params.max_chunks_per_file} of {len(chunks)} chunks kept (max_chunks_per_file)"
        )
        chunks = chunks[: params.max_chunks_per_file]
    return FileReport(src.source, OK, warnings=tuple(warnings), pages=pages, chunks=len(chunks)), chunks


def extract_many(
    files: Iterable[SourceFile],
    params: ExtractParams = ExtractParams(),
    *,
    workers: int = DEFAULT_WORKERS,
    on_progress: OnProgress | None = None,
) -> Iterator[tuple[SourceFile, FileReport, list[Chunk]]]:
    """Extract files, yielding `(file, report, chunks)` in input order.

    With `workers` >= 1, PDFs and files over `IN_PROCESS_MAX_BYTES` run in up to `workers` worker processes
    (`ingest.worker` subprocesses, see `ingest.frames`: they never import the caller's `__main__`, so no
    `if __name__ == "__main__":` guard is needed, and no fork of this possibly threaded process), each file under
    `params.timeout_s`: a file over it has its worker killed and is reported "timed out after N s", and the run goes
    on. Small text files run in this process meanwhile. `workers=0` runs everything here with no time limit.

    `on_progress` hears `PageProgress` events from inside files as they are extracted (a worker sends them over its
    pipe), from the thread iterating this generator; events of files in different workers interleave.
    """
    if workers < 0:
        raise ValueError("workers must be >= 0")
    pool = _Pool(workers, params, on_progress) if workers else None
    sources: dict[int, SourceFile] = {}
    pooled: set[int] = set()
    pending: deque[int] = deque()
    results: dict[int, tuple[FileReport, list[Chunk]]] = {}
    it = iter(files)
    next_in = next_out = 0
    exhausted = False
    try:
        while True:
            while not exhausted and next_in - next_out < _READ_AHEAD * max(workers, 1):
                src = next(it, None)
                if src is None:
                    exhausted = True
                    break
                sources[next_in] = src
                if pool is not None and _wants_worker(src):
                    pooled.add(next_in)
                    pending.append(next_in)
                next_in += 1
            if exhausted and next_out == next_in:
                return
            if pool is not None:
                pool.dispatch(pending, sources)
            if next_out in results:
                report, chunks = results.pop(next_out)
                pooled.discard(next_out)
                yield sources.pop(next_out), report, chunks
                next_out += 1
            elif next_out not in pooled:
                results[next_out] = extract(sources[next_out], params, on_progress)
            else:
                assert pool is not None
                pool.wait(results)
    finally:
        if pool is not None:
            pool.close()


def _wants_worker(src: SourceFile) -> bool:
    return src.skip_reason is None and (src.kind in WORKER_KINDS or src.size > IN_PROCESS_MAX_BYTES)


@dataclass
class _Job:
    worker: WorkerProcess
    index: int = -1
    source: SourceFile | None = None
    deadline: float = 0.0
    """When the file's time limit (or, before the worker is ready, its start limit) runs out (monotonic s)."""


class _Pool:
    """Worker processes (`ingest.worker`) started on demand; a worker past its deadline is killed and replaced."""

    def __init__(self, size: int, params: ExtractParams, on_progress: OnProgress | None = None) -> None:
        self.size, self.params, self.on_progress = size, params, on_progress
        self.idle: list[_Job] = []
        self.busy: dict[int, _Job] = {}  # by the worker's stdout file descriptor

    def dispatch(self, pending: deque[int], sources: dict[int, SourceFile]) -> None:
        while pending and len(self.busy) < self.size:
            while self.idle and self.idle[-1].worker.eof:  # exited after its last result
                self.idle.pop().worker.kill()
            job = self.idle.pop() if self.idle else _Job(WorkerProcess())
            index = pending.popleft()
            job.index, job.source = index, sources[index]
            limit = self.params.timeout_s if job.worker.ready else START_TIMEOUT_S + self.params.timeout_s
            job.deadline = time.monotonic() + limit
            self.busy[job.worker.fileno()] = job
            if not job.worker.send((index, job.source, self.params, self.on_progress is not None)):
                job.worker.eof = True  # reported as a crash by the next wait()

    def wait(self, results: dict[int, tuple[FileReport, list[Chunk]]]) -> None:
        """Block until a worker finishes or a deadline passes; put what finished (or timed out) in `results`."""
        ready = [job for job in self.busy.values() if job.worker.eof]
        if not ready:
            timeout = max(0.0, min(job.deadline for job in self.busy.values()) - time.monotonic())
            with selectors.DefaultSelector() as selector:
                for fd in self.busy:
                    selector.register(fd, selectors.EVENT_READ)
                ready = [self.busy[key.fd] for key, _ in selector.select(timeout)]
        for job in ready:
            self._collect(job, results)
        now = time.monotonic()
        for fd, job in list(self.busy.items()):
            if now >= job.deadline:
                del self.busy[fd]
                job.worker.kill()
                reason = (
                    f"timed out after {self.params.timeout_s:g} s"
                    if job.worker.ready
                    else f"extraction worker did not start within {START_TIMEOUT_S:g} s"
                )
                results[job.index] = (FileReport(_source(job), SKIPPED, reason=reason), [])

    def _collect(self, job: _Job, results: dict[int, tuple[FileReport, list[Chunk]]]) -> None:
        for frame in job.worker.receive():
            if frame == READY:
                if not job.worker.ready:
                    job.worker.ready = True
                    job.deadline = time.monotonic() + self.params.timeout_s
                continue
            if frame[0] == PAGE:
                if self.on_progress is not None:
                    self.on_progress(frame[1])
                continue
            _, report, chunks = frame
            results[job.index] = (report, chunks)
            del self.busy[job.worker.fileno()]
            self.idle.append(job)
            return
        if job.worker.eof:
            del self.busy[job.worker.fileno()]
            job.worker.kill()
            reason = f"extraction crashed (worker exit code {job.worker.exit_code()})"
            results[job.index] = (FileReport(_source(job), SKIPPED, reason=reason), [])

    def close(self) -> None:
        for job in self.idle:
            job.worker.stop()
        for job in self.busy.values():
            job.worker.kill()
        self.idle, self.busy = [], {}


def _source(job: _Job) -> str:
    assert job.source is not None
    return job.source.source
