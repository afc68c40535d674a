"""The write pipeline of one sync: extract (worker processes) -> embed (this thread) -> store (a writer thread).

The three stages overlap: while a group of chunks is being embedded, the next files are extracted and the previous
group is written. Groups span files (a group is `embed_batch * embed_in_flight` chunks: one full batch per request
slot), so many small files still fill the embedder's batches. Writes start just after a group is sent (see
`_await_flight`), so they run while Ollama works. For each finished group of files the writer upserts every vector
into Chroma first, then
commits the files' rows in one catalog transaction, then deletes the files' old chunk ids from Chroma. A crash between
any two steps leaves Chroma with ids the catalog lacks (orphans), which the next run deletes; the catalog never names a
chunk whose vector was not yet stored.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.chunking import Chunk, estimate_tokens, split_chunk
from ingest.discover import SourceFile
from ingest.pipeline import ExtractParams, extract_many
from ingest.report import FileReport, PageProgress
from ingest.sentences import sentence_texts
from rag.errors import ManifestMismatch, RagError, StoreError
from rag.index.report import ADDED, FAILED, SKIPPED, UPDATED, FileOutcome
from rag.retrieve import bm25
from rag.retrieve.text import index_text
from rag.store import sentence_vectors
from rag.store.catalog import Catalog, FileRecord
from rag.store.chroma import ChromaStore
from rag.store.manifest import Manifest

if TYPE_CHECKING:
    from rag.embed.base import Embedder

MAX_SPLIT_DEPTH = 8
EXTRACTED_FILES_AHEAD = 64
"""Extracted files waiting for the embedder (bounds memory while keeping the embedder fed)."""
FILL_WAIT_S = 0.05
"""How long the embedder waits for more extracted files before embedding a part-filled group."""
_DONE = object()
_UNWRITTEN = object()
FLIGHT_WAIT_S = 0.2
"""Longest a ready write waits for the next embedding group to go out."""
SEND_GRACE_S = 0.01
WRITE_WAIT_S = 0.5
"""Longest a finished file waits for company before it is written."""
WRITE_MAX_FILES = 512


def _embed_text(chunk: Chunk) -> str:
    """What is embedded for a chunk: its text, with its heading path first when rag.bm25.HEADINGS says so (the
    same switch as the BM25 text, so both legs see the same words); the stored text is unchanged."""
    return index_text(chunk.text, chunk.heading_path) if bm25.HEADINGS else chunk.text


def _texts(item: tuple[_File, int]) -> int:
    """Texts one pending chunk sends to the embedder: itself and its sentences."""
    f, i = item
    return 1 + len(f.sentences[i])


def _stack(vectors: list[np.ndarray | None]) -> np.ndarray | None:
    """A chunk's sentence vectors as one array (sentences the model refused left out); None when none are left."""
    kept = [v for v in vectors if v is not None]
    return np.stack(kept) if kept else None


class _Unembeddable(Exception):
    """A piece of text the model refuses even after splitting it small."""


@dataclass
class _File:
    """A file between extraction and storage."""

    src: SourceFile
    record: FileRecord | None
    report: FileReport
    chunks: list[Chunk]
    slots: list[list[tuple[Chunk, np.ndarray, np.ndarray | None]] | None] = field(default_factory=list)
    """Per chunk: (chunk or split piece, its vector, its sentence vectors or None), once embedded."""
    sentences: list[list[str]] = field(default_factory=list)
    """Per chunk: its sentences to embed (`ingest.sentences.sentence_texts`; none with sentence vectors off)."""
    remaining: int = 0
    failed: str | None = None

    def finished(self) -> tuple[list[Chunk], list[np.ndarray], list[np.ndarray | None]]:
        """The file's final chunks (split pieces in place, ordinals renumbered), their vectors and sentence vectors."""
        rows = [row for slot in self.slots for row in (slot or [])]
        chunks = [c if c.ordinal == i else dataclasses.replace(c, ordinal=i) for i, (c, _, _) in enumerate(rows)]
        return chunks, [v for _, v, _ in rows], [s for _, _, s in rows]


@dataclass
class PipelineResult:
    outcomes: list[FileOutcome] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    interrupted: bool = False
    error: str | None = None
    dimension: int | None = None


class IndexPipeline:
    """Runs the todo list of a `SyncPlan` through extraction, embedding and storage.

    Args:
        embedder: an `rag.embed.Embedder`.
        store, catalog: where vectors and rows go.
        manifest: written with the first commit (its dimension is filled from the first vector if None).
        params: ingest extraction parameters; workers: extraction processes.
        group_texts: texts (chunks and their sentences) per embedding group (batch size x requests in flight keeps
            every slot busy).
        on_outcome: called (from the writer thread) with each file's outcome and the running chunk total.
        on_page: called (from the extraction thread) with `PageProgress` events from inside files being extracted.
        on_embedded: called (from this thread) with `(source, chunks embedded, chunks)` after each embedding group,
            for a file whose chunks go on into the next group (a big file).
        sentence_vectors: also embed each chunk's sentences (`ingest.sentences.sentence_texts`), in the same
            requests as the chunks, and store them with it (`rag.store.sentence_vectors`: catalog, and Chroma
            metadata on a server).
    """

    def __init__(  # noqa: PLR0913
        self,
        embedder: Embedder,
        store: ChromaStore,
        catalog: Catalog,
        manifest: Manifest,
        params: ExtractParams,
        *,
        workers: int,
        group_texts: int,
        on_outcome: Callable[[FileOutcome, int], None] | None = None,
        on_page: Callable[[PageProgress], None] | None = None,
        on_embedded: Callable[[str, int, int], None] | None = None,
        sentence_vectors: bool = True,
    ) -> None:
        self.embedder = embedder
        self.with_sentences = sentence_vectors
        self.store = store
        self.catalog = catalog
        self.manifest = manifest
        self.params = params
        self.workers = workers
        self.group_texts = max(1, group_texts)
        self.on_outcome = on_outcome
        self.on_page, self.on_embedded = on_page, on_embedded
        self.result = PipelineResult(dimension=manifest.dimension)
        self._stop = threading.Event()
        self._abandon = threading.Event()
        self._in_flight = threading.Event()
        self._extracted: queue.Queue[Any] = queue.Queue(maxsize=EXTRACTED_FILES_AHEAD)
        self._ready: queue.Queue[Any] = queue.Queue()
        self._writer_error: BaseException | None = None
        self._manifest_dimension: Any = _UNWRITTEN

    # -- public ---------------------------------------------------------------------------------------------

    def run(self, todo: list[tuple[SourceFile, FileRecord | None]]) -> PipelineResult:
        """Process every file; on Ctrl-C or a fatal error, finish the files already embedded and stop."""
        if not todo:
            return self.result
        records = {src.source: rec for src, rec in todo}
        extractor = threading.Thread(target=self._extract, args=([s for s, _ in todo], records), daemon=True)
        writer = threading.Thread(target=self._write_loop, daemon=True)
        extractor.start()
        writer.start()
        try:
            self._embed_loop()
        except KeyboardInterrupt:
            self.result.interrupted = True
        except RagError as exc:
            self.result.interrupted = True
            self.result.error = str(exc)
        finally:
            self._stop.set()
            self._ready.put(_DONE)
            self._join_writer(writer)
            extractor.join(timeout=2.0)
        if self._writer_error is not None:
            self.result.interrupted = True
            self.result.error = self.result.error or str(self._writer_error)
        return self.result

    def _join_writer(self, writer: threading.Thread) -> None:
        """Wait for the writer to store what is embedded; on (another) Ctrl-C it finishes its current batch only."""
        while writer.is_alive():
            try:
                writer.join(0.1)
            except KeyboardInterrupt:
                self.result.interrupted = True
                self._abandon.set()

    # -- stage 1: extraction (thread feeding from the worker processes) --------------------------------------

    def _extract(self, files: list[SourceFile], records: dict[str, FileRecord | None]) -> None:
        items: Iterator[tuple[SourceFile, FileReport, list[Chunk]]] = extract_many(
            files, self.params, workers=self.workers, on_progress=self.on_page
        )
        try:
            for src, report, chunks in items:
                if not self._put(_File(src, records.get(src.source), report, list(chunks))):
                    break
        except BaseException as exc:  # hand it to the embed stage, which decides
            self._put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            self._put(_DONE)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._extracted.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    # -- stage 2: embedding (the calling thread) -------------------------------------------------------------

    def _embed_loop(self) -> None:
        pending: list[tuple[_File, int]] = []  # (file, chunk index) not yet embedded
        done = False
        while True:
            done = self._fill(pending, done)
            if self._writer_error is not None:
                raise StoreError(str(self._writer_error))
            if not pending:
                if done:
                    return
                continue
            take, texts = 0, 0
            while take < len(pending) and (take == 0 or texts + _texts(pending[take]) <= self.group_texts):
                texts += _texts(pending[take])
                take += 1
            group, pending[:] = pending[:take], pending[take:]
            self._embed_group(group)

    def _fill(self, pending: list[tuple[_File, int]], done: bool) -> bool:
        """Take extracted files until a group is full, extraction ends, or no file came for `FILL_WAIT_S`."""
        while not done and sum(_texts(item) for item in pending) < self.group_texts:
            try:
                item = self._extracted.get(timeout=FILL_WAIT_S if pending else 0.5)
            except queue.Empty:
                if pending:  # extraction is the slow stage: don't sit on a part-filled group
                    return done
                continue
            if item is _DONE:
                return True
            if isinstance(item, BaseException):
                raise item
            self._admit(item, pending)
        return done

    def _admit(self, f: _File, pending: list[tuple[_File, int]]) -> None:
        if f.report.status != "ok":
            self._ready.put(f)  # skipped by ingest: the writer records it (and drops old chunks)
            return
        f.slots = [None] * len(f.chunks)
        f.sentences = [sentence_texts(c.text) if self.with_sentences else [] for c in f.chunks]
        f.remaining = len(f.chunks)
        if not f.chunks:
            self._ready.put(f)
        pending.extend((f, i) for i in range(len(f.chunks)))

    def _embed_group(self, group: list[tuple[_File, int]]) -> None:
        live = [(f, i) for f, i in group if f.failed is None]
        sentences = [f.sentences[i] for f, i in live]
        texts = [_embed_text(f.chunks[i]) for f, i in live] + [t for group_texts in sentences for t in group_texts]
        vectors = self._embed(texts) if live else []
        embedded = {(id(f), i): v for (f, i), v in zip(live, vectors, strict=False)}
        rest = iter(vectors[len(live) :])
        by_sentence = {(id(f), i): _stack([next(rest) for _ in s]) for (f, i), s in zip(live, sentences, strict=True)}
        for f, i in group:
            key = (id(f), i)
            if f.failed is None and key in embedded:
                vector = embedded[key]
                try:
                    whole = [(f.chunks[i], vector, by_sentence[key])] if vector is not None else None
                    f.slots[i] = whole or self._split_embed(f.chunks[i])
                except _Unembeddable as exc:
                    f.failed = str(exc)
            f.remaining -= 1
            if f.remaining == 0:
                self._ready.put(f)
        if self.on_embedded is not None:
            for f in {id(f): f for f, _ in group if f.remaining > 0}.values():
                self.on_embedded(f.src.source, len(f.chunks) - f.remaining, len(f.chunks))

    def _embed(self, texts: list[str]) -> list[np.ndarray | None]:
        self._in_flight.set()
        vectors = self.embedder.embed_documents(texts)
        for v in vectors:
            if v is not None:
                self._check_dimension(len(v))
        return vectors

    def _check_dimension(self, n: int) -> None:
        if self.result.dimension is None:
            self.result.dimension = n
        elif n != self.result.dimension:
            raise ManifestMismatch(
                f"The index holds {self.result.dimension}-dimensional vectors but {self.embedder.model} returned {n}. "
                "Re-index with `rag index PATH --rebuild`, or use the model the index was built with."
            )

    def _count(self, text: str) -> int:
        counter = getattr(self.embedder, "count_tokens", None)
        n = counter(text) if counter is not None else None
        return n if n is not None else estimate_tokens(text)

    def _split_embed(self, chunk: Chunk, depth: int = 0) -> list[tuple[Chunk, np.ndarray, np.ndarray | None]]:
        """Split a chunk the model refused into pieces of at most half its tokens (and within the model's context)
        and embed them (without sentence vectors); pieces refused again are split again."""
        size = self._count(chunk.text)
        limit = max(1, size // 2)
        max_tokens = getattr(self.embedder, "max_tokens", None)
        if max_tokens:
            limit = min(limit, int(max_tokens))
        try:
            pieces = split_chunk(chunk, limit, count_tokens=self._count) if size > 1 else [chunk]
        except ValueError:  # not even one character fits
            pieces = [chunk]
        if depth >= MAX_SPLIT_DEPTH or len(pieces) <= 1:
            raise _Unembeddable(
                f"a chunk at characters {chunk.char_start}-{chunk.char_end} cannot be embedded even when split"
            )
        out: list[tuple[Chunk, np.ndarray, np.ndarray | None]] = []
        for piece, vector in zip(pieces, self._embed([_embed_text(p) for p in pieces]), strict=False):
            out += [(piece, vector, None)] if vector is not None else self._split_embed(piece, depth + 1)
        return out

    # -- stage 3: storage (writer thread) --------------------------------------------------------------------

    def _write_loop(self) -> None:
        finished = False
        while not finished:
            batch, finished = self._collect()
            if not finished and not self._stop.is_set():
                self._await_flight()
            if self._writer_error is None and batch and not self._abandon.is_set():
                try:
                    self._write(batch)
                except BaseException as exc:  # surfaced by the embed loop / run()
                    self._writer_error = exc

    def _await_flight(self) -> None:
        """Start a write just after an embedding group went out. Chroma's embedded upsert holds the GIL for its whole
        run, so writing while the group is on the server hides it; writing as replies arrive would stall them."""
        self._in_flight.wait(timeout=FLIGHT_WAIT_S)
        self._in_flight.clear()
        time.sleep(SEND_GRACE_S)  # let the embedder's threads put their requests on the wire first

    def _collect(self) -> tuple[list[_File], bool]:
        """Files to write together: at least one group's worth of chunks (each Chroma call costs ~25 ms fixed), or
        what arrived within WRITE_WAIT_S, or everything left at the end."""
        batch: list[_File] = []
        chunks = 0
        deadline = None
        while chunks < self.group_texts and len(batch) < WRITE_MAX_FILES:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self._ready.get(timeout=timeout)
            except queue.Empty:
                break
            if item is _DONE:
                return batch, True
            batch.append(item)
            chunks += len(item.chunks)
            if deadline is None:
                deadline = time.monotonic() + WRITE_WAIT_S
            if self._stop.is_set() and self._ready.empty():
                break
        return batch, False

    def _write(self, batch: list[_File]) -> None:
        stored: list[tuple[_File, list[Chunk]]] = []
        ids: list[Chunk] = []
        vectors: list[np.ndarray] = []
        sentences: list[bytes | None] = []
        kinds: list[str] = []
        drops: list[_File] = []
        for f in batch:
            if f.report.status != "ok" or f.failed is not None:
                drops.append(f)
                continue
            chunks, vecs, sents = f.finished()
            stored.append((f, chunks))
            ids += chunks
            vectors += vecs
            sentences += [None if rows is None else sentence_vectors.quantize(rows) for rows in sents]
            kinds += [f.src.kind] * len(chunks)
        if ids:
            self.store.upsert(ids, vectors, kinds, sentences)
        if stored:
            self._commit(stored, {c.id: blob for c, blob in zip(ids, sentences, strict=True) if blob})
        if drops:
            self._drop(drops)

    def _commit(self, stored: list[tuple[_File, list[Chunk]]], sentences: dict[str, bytes]) -> None:
        entries = []
        for f, chunks in stored:
            sha = chunks[0].file_sha256 if chunks else f.src.sha256()
            record = FileRecord(
                source=f.src.source,
                root=str(f.src.root),
                size=f.src.size,
                mtime_ns=f.src.mtime_ns,
                sha256=sha,
                kind=f.src.kind,
                chunks=len(chunks),
                pages=f.report.pages,
                indexed_at=time.time(),
                warnings=tuple(f.report.warnings),
            )
            entries.append((record, chunks))
        manifest = None
        if self._manifest_dimension is _UNWRITTEN or (self._manifest_dimension is None and self.result.dimension):
            manifest = dataclasses.replace(self.manifest, dimension=self.result.dimension)
            self._manifest_dimension = self.result.dimension
        old = self.catalog.commit_files(entries, manifest, sentences)
        if old:
            self.store.delete(sorted(old))
        self.result.chunks_removed += len(old)
        for f, chunks in stored:
            self.result.chunks_added += len(chunks)
            status = UPDATED if f.record is not None else ADDED
            self._emit(FileOutcome(f.src.source, status, None, tuple(f.report.warnings), len(chunks), f.report.pages))

    def _drop(self, drops: list[_File]) -> None:
        previous = [f.src.source for f in drops if f.record is not None]
        removed = self.catalog.remove_files(previous)
        if removed:
            self.store.delete(sorted(removed))
        self.result.chunks_removed += len(removed)
        for f in drops:
            status = FAILED if f.failed is not None else SKIPPED
            reason = f.failed or f.report.reason
            self._emit(FileOutcome(f.src.source, status, reason, tuple(f.report.warnings), 0, f.report.pages))

    def _emit(self, outcome: FileOutcome) -> None:
        self.result.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome, self.result.chunks_added)
