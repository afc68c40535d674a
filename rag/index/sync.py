"""Keep a collection in sync with folders: `index_folder`, `remove_path`, `index_status`.

Every write run holds the writer lock, then reconciles Chroma with the catalog (vectors without a catalog row are a
crashed run's orphans and are deleted; catalog chunks whose vectors are missing mark their file for re-embedding),
then applies the folder's changes. So a run killed at any point is completed by the next one, which ends with the same
chunk ids as a clean run.

On a Chroma server several writers share one collection (`rag.store.ownership`): each run joins as its index folder's
writer, is refused a folder another writer owns (unless `take_over`), and reconciles only its own chunks. A rebuild
there builds into a new physical collection (carrying the other writers' chunks over when the model is unchanged)
and switches the registry pointer only when the run completed, so readers never see a half-built index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest import chunking
from ingest.discover import escape_name
from ingest.pipeline import ExtractParams
from ingest.precheck import precheck, work
from rag.config import Settings
from rag.errors import IngestError, StoreError
from rag.index import clean_mark
from rag.index.pipeline import IndexPipeline, PipelineResult
from rag.index.plan import SyncPlan, plan_sync, root_key
from rag.index.progress import ProgressRelay
from rag.index.reader_pack import refresh_pack
from rag.index.report import (
    ADDED,
    FAILED,
    IGNORED,
    REMOVED,
    SKIPPED,
    UPDATED,
    FileOutcome,
    IndexProgress,
    IndexReport,
    RemoveReport,
)
from rag.index.skips import mark_still
from rag.index.skips import path_for as skip_path
from rag.ollama.models import normalize_model
from rag.store import IndexHandle, generation, open_index
from rag.store.catalog import Catalog, FileRecord
from rag.store.chroma import ChromaStore, WriterSession
from rag.store.layout import IndexLayout, layout
from rag.store.lock import WriterLock
from rag.store.manifest import Manifest, check_compatible, now_iso
from rag.store.ownership import WriterConflict, check_owner, root_name, writer_identity
from rag.store.registry import WriterRecord

if TYPE_CHECKING:
    from rag.embed.base import Embedder, EmbedderInfo

Progress = Callable[[IndexProgress], None]
MAX_WORKERS = 4
NOT_FOUND_REASON = "no such file or folder"


def _workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _chunker_version() -> str:
    return str(chunking.CHUNKER_VERSION)


def _emit(progress: Progress | None, event: IndexProgress) -> None:
    if progress is not None:
        progress(event)


def _message(progress: Progress | None) -> Callable[[str], None]:
    return lambda text: _emit(progress, IndexProgress("message", message=text))


def _root(path: str | os.PathLike[str]) -> Path:
    root = Path(path).expanduser().resolve()
    try:
        root.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise IngestError(escape_name(str(path)), NOT_FOUND_REASON) from None
    except OSError as exc:  # e.g. a folder above it cannot be searched
        raise IngestError(escape_name(str(path)), f"cannot read: {exc.strerror or exc}") from None
    try:
        str(root).encode("utf-8")
    except UnicodeEncodeError:  # names below a root may be undecodable (their keys escape them), the root may not
        raise IngestError(
            escape_name(str(root)), "this path is not valid UTF-8: rename it, or index the folder above it"
        ) from None
    return root


def wanted_manifest(info: EmbedderInfo, settings: Settings, stored: Manifest | None, root: Path | None) -> Manifest:
    """The manifest a run with this embedder and these settings would write."""
    roots = tuple(stored.roots) if stored else ()
    if root is not None and not any(root == Path(r) or Path(r) in root.parents for r in roots):
        roots = tuple(sorted({*roots, str(root)}))  # a path inside an indexed folder is not another root
    now = now_iso()
    return Manifest(
        embed_model=normalize_model(info.model),
        dimension=getattr(info, "dimension", None) or (stored.dimension if stored else None) or None,
        prefix_scheme=getattr(info, "prefix_scheme", None) or None,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        chunker_version=_chunker_version(),
        embed_backend=getattr(info, "backend", "") or "",
        embed_digest=getattr(info, "digest", None) or None,
        created_at=stored.created_at if stored and stored.created_at else now,
        updated_at=now,
        roots=roots,
    )


def reconcile(catalog: Catalog, store: ChromaStore) -> tuple[int, int]:
    """Make Chroma agree with the catalog; returns (orphan vectors deleted, files marked for re-embedding).

    With a writer attached (server mode) only that writer's chunks are compared: other writers' are never touched.
    """
    files, chunks = catalog.counts()
    if files == 0 and chunks == 0 and store.writer is None:
        if store.count():
            store.drop()  # a fresh or reset catalog: whatever Chroma holds is left over
        return 0, 0
    in_chroma = store.own_ids()
    in_catalog = catalog.chunk_ids()
    orphans = sorted(in_chroma - in_catalog)
    if orphans:
        store.delete(orphans)
    missing = in_catalog - in_chroma
    stale = catalog.sources_of(missing) if missing else set()
    catalog.mark_stale(stale)
    return len(orphans), len(stale)


def _extract_params(settings: Settings) -> ExtractParams:
    return ExtractParams(
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        pdf_password=settings.pdf_password,
        max_pages=settings.max_pages,
        max_chunks_per_file=settings.max_chunks_per_file,
        timeout_s=settings.file_timeout_s,
    )


@dataclasses.dataclass(frozen=True)
class _Run:
    """What one index run was asked to do, passed whole to the steps of the run."""

    root: Path
    settings: Settings
    open_embedder: Callable[[str], Embedder]
    model_explicit: bool
    progress: Progress | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    start: float
    """time.monotonic() when the run began."""


def _plan(run: _Run, catalog: Catalog | None, lay: IndexLayout) -> SyncPlan:
    return plan_sync(
        run.root,
        catalog.files() if catalog is not None else {},
        include=run.include,
        exclude=run.exclude,
        max_file_bytes=run.settings.max_file_bytes,
        skip_dirs=[lay.index_dir, lay.home],
    )


def index_folder(  # noqa: PLR0913
    path: str | os.PathLike[str],
    *,
    settings: Settings,
    open_embedder: Callable[[str], Embedder],
    model_explicit: bool,
    rebuild: bool = False,
    dry_run: bool = False,
    no_wait: bool = False,
    progress: Progress | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    take_over: bool = False,
) -> IndexReport:
    """Sync `settings.collection` with the folder (or file) at `path`; see `rag.RAG.index` for the behaviour.

    On a Chroma server, `take_over` makes this index folder the owner of a folder another writer indexed (its chunks
    there are deleted first) and lets a rebuild with another model drop the other writers' chunks.
    """
    run = _Run(
        _root(path), settings, open_embedder, model_explicit, progress, tuple(include), tuple(exclude), time.monotonic()
    )
    lay = open_index(settings).layout
    if dry_run:
        return _dry_run(run, lay)
    with WriterLock(lay.lock, no_wait=no_wait, on_wait=_message(progress)):
        index = open_index(settings)  # again, under the lock: a rebuild that ran while we waited switched the build
        lay = index.layout
        with index.open_catalog() as catalog, contextlib.ExitStack() as stack:
            stale = [] if lay.chroma_url else generation.stale_builds(lay.home, lay.collection)
            clean = not rebuild and not stale and clean_mark.is_clean(lay, catalog)  # Chroma == catalog, as left
            quick = _quick_noop(run, lay, catalog) if clean else None
            if quick is not None:  # nothing to do: Chroma is never opened
                return quick
            clean_mark.forget(lay)  # from here Chroma may change: only a run that completes marks it clean again
            store = stack.enter_context(index.open_store())
            if stale:
                _drop_builds(store, lay, stale)
            if not lay.chroma_url:
                if rebuild:
                    return _embedded_rebuild(run, lay, catalog, store)
                return _sync(run, lay, catalog, store, verified=clean)
            _join(store, lay, run.root, take_over=take_over, progress=progress)
            if rebuild:
                report = _server_rebuild(run, lay, catalog, store, take_over=take_over)
            else:
                report = _sync(run, lay, catalog, store, verified=clean)
        return _with_reader_pack(report, index, settings)


def _with_reader_pack(report: IndexReport, index: IndexHandle, settings: Settings) -> IndexReport:
    """After a server run that completed: refresh the readers' pack when due; a failure there is only a warning."""
    if report.error is not None or report.interrupted or report.dry_run:
        return report
    try:
        note = refresh_pack(index, settings.reader_pack_min_chunks)
    except StoreError as exc:
        note = f"reader pack not stored (readers with an empty folder read the rows instead): {exc}"
    return dataclasses.replace(report, warnings=[*report.warnings, note]) if note else report


def _drop_builds(store: ChromaStore, lay: IndexLayout, tags: Iterable[str | None]) -> None:
    """Delete builds readers no longer use: the Chroma collection first, then the files that name it."""
    for tag in tags:
        store.drop_physical(generation.physical_name(lay.collection, tag))
        generation.delete_files(lay.home, lay.collection, tag)


def _embedded_rebuild(run: _Run, lay: IndexLayout, old: Catalog, store: ChromaStore) -> IndexReport:
    """Build a new catalog, BM25 index and Chroma collection beside the live ones, then switch the pointer readers
    follow (`rag.store.generation`) and delete the old build. Readers answer from the old build until the switch,
    from the new one after it; a run that fails or is interrupted leaves them on the old one."""
    tag = generation.new_tag()
    new = layout(lay.index_dir, None, lay.collection, tag)
    try:
        with (
            Catalog(new.catalog, create=True, collection=lay.collection) as catalog,  # files first: see _drop_builds
            ChromaStore(lay.index_dir, None, lay.collection, physical=new.physical) as built,
        ):
            report = _sync(run, new, catalog, built)
    except BaseException:
        _drop_builds(store, lay, [tag])
        raise
    if report.error is not None or report.interrupted:
        _drop_builds(store, lay, [tag])
        reason = report.error or "interrupted"
        note = (
            f"rebuild not switched: questions still use the previous index ({reason}); run `rag index --rebuild` again"
        )
        return dataclasses.replace(report, warnings=[*report.warnings, note])
    generation.switch(lay.home, lay.collection, tag)
    old.close()
    _drop_builds(store, lay, [lay.tag])  # readers in flight on it move to the new build at their next question
    return report


def _join(store: ChromaStore, lay: IndexLayout, root: Path, *, take_over: bool, progress: Progress | None) -> None:
    """Register this index folder as a writer of the collection for `root`, after checking nobody else owns it."""
    assert store.registry is not None
    me = writer_identity(lay.home)
    name = root.name if root.is_dir() else root.parent.name
    for other in check_owner(store.registry, me.id, name, take_over=take_over, home=me.home):
        ids = sorted(store.iter_ids({"$and": [{"writer": other.id}, {"root": name}]}))
        store.delete(ids)
        roots = {k: v for k, v in other.roots.items() if k != name}
        gen = other.generation + 1
        store.registry.put_writer(dataclasses.replace(other, roots=roots, generation=gen, deleted_at=gen))
        _emit(
            progress,
            IndexProgress(
                "message",
                message=(
                    f"took {name!r} over from writer {other.id} ({other.host}, {other.home}): "
                    f"deleted its {len(ids)} chunks"
                ),
            ),
        )
    record = store.registry.state().writers.get(me.id) or WriterRecord(me.id, me.host, me.home)
    record = dataclasses.replace(record, host=me.host, home=me.home, roots={**record.roots, name: str(root)})
    store.registry.put_writer(record)
    store.attach_writer(WriterSession(store.registry, record, root=name))


def _server_rebuild(
    run: _Run, lay: IndexLayout, catalog: Catalog, store: ChromaStore, *, take_over: bool
) -> IndexReport:
    """Build into a new physical collection; switch the pointer to it only when the run completed."""
    settings = run.settings
    assert store.registry is not None and store.writer is not None
    old = store.physical
    server_manifest = store.manifest()
    local = catalog.manifest() or server_manifest
    model = normalize_model(
        local.embed_model if local is not None and not run.model_explicit else settings.embed_model_or_default
    )
    me = store.writer.record.id
    others = [r for w, r in store.registry.state().writers.items() if w != me and r.roots]
    same_model = server_manifest is None or server_manifest.embed_model == model
    if others and not same_model and not take_over:
        names = ", ".join(f"{r.id} ({r.host}, {r.home})" for r in others)
        raise WriterConflict(
            f"Rebuilding {settings.collection!r} with {model} would drop the chunks of the other writers ({names}), "
            f"indexed with {server_manifest.embed_model if server_manifest else '?'}. Pass --take-over to drop them "
            "(they re-index with the new model), or rebuild with `--embed-model` of the current model."
        )
    new = f"{settings.collection}.b{time.time_ns()}"
    store.switch_to(new)
    carried = 0
    if others and same_model:
        carried = _carry_over(store, old, me)
    elif others:
        for other in others:
            store.registry.drop_writer(other.id)
    catalog.reset()  # the run writes the new collection's manifest (a rebuild may change the chunking)
    try:
        report = _sync(run, lay, catalog, store)
    except BaseException:
        store.drop_physical(new)
        raise
    if report.error is not None or report.interrupted:
        store.drop_physical(new)  # readers stay on the old one; the next run repairs this writer's catalog
        return dataclasses.replace(
            report,
            warnings=[
                *report.warnings,
                (
                    "rebuild not switched: readers still use the previous collection "
                    f"({report.error or 'interrupted'}); "
                    "run `rag index --rebuild` again"
                ),
            ],
        )
    store.registry.set_pointer(new)
    if others and same_model:
        carried += _carry_over(store, old, me, missing_only=True)  # what they wrote during the build
    store.writer.publish()
    for name in store.physical_names():
        if name != new:
            store.drop_physical(name)  # readers in flight on it reopen through the pointer
    note = [f"carried over {carried} chunks of other writers"] if carried else []
    return dataclasses.replace(report, warnings=[*report.warnings, *note])


def _carry_over(store: ChromaStore, old: str, me: str, *, missing_only: bool = False) -> int:
    """Copy the other writers' rows (vectors included) from `old` into the store's current collection (only those
    it lacks, with `missing_only`)."""
    source = ChromaStore(store.index_dir, store.chroma_url, store.name, create=False, physical=old)
    others = {"writer": {"$ne": me}}
    n = 0
    pages: Iterable[dict[str, Any]]
    with source:
        if missing_only:
            ids = sorted(set(source.iter_ids(others)) - set(store.iter_ids(others)))
            pages = [source.rows_by_id(ids[i : i + 1000]) for i in range(0, len(ids), 1000)]
        else:
            pages = source.iter_rows(others, embeddings=True)
        for page in pages:
            store.upsert_rows(page["ids"], page["embeddings"], page["documents"], page["metadatas"])
            n += len(page["ids"])
    return n


def _sync(run: _Run, lay: IndexLayout, catalog: Catalog, store: ChromaStore, *, verified: bool = False) -> IndexReport:
    """Open the embedder the collection's manifest names (or the one asked for) and sync the folder."""
    stored = catalog.manifest()
    if store.writer is not None:  # server: the collection's manifest is the shared truth
        shared = store.manifest()
        if shared is not None and stored is not None and not _same_vectors(shared, stored):
            catalog.reset()  # the collection was rebuilt with another model: this writer re-embeds its folder
        stored = catalog.manifest() or shared
    explicit, settings = run.model_explicit, run.settings
    model = stored.embed_model if stored is not None and not explicit else settings.embed_model_or_default
    with run.open_embedder(model) as embedder:
        return _sync_with(run, embedder, lay, catalog, store, stored, verified=verified)


def _sync_with(
    run: _Run,
    embedder: Embedder,
    lay: IndexLayout,
    catalog: Catalog,
    store: ChromaStore,
    stored: Manifest | None,
    *,
    verified: bool = False,
) -> IndexReport:
    """The sync proper; `verified`: the clean mark showed Chroma == catalog, so reconcile has nothing to find."""
    root, settings, progress = run.root, run.settings, run.progress
    manifest = wanted_manifest(embedder.info(), settings, stored, root)
    warnings = check_compatible(stored, manifest, collection=settings.collection) if stored is not None else []
    orphans, repaired = (0, 0) if verified else reconcile(catalog, store)
    plan = _plan(run, catalog, lay)
    outcomes: list[FileOutcome] = list(plan.skipped)
    gone = [r.source for r in plan.gone]
    removed_ids = catalog.remove_files(gone)  # catalog first: a crash before the delete leaves orphans only
    if removed_ids:
        store.delete(sorted(removed_ids))
    outcomes += [FileOutcome(r.source, REMOVED, chunks=r.chunks, pages=r.pages) for r in plan.gone]
    catalog.touch_files(plan.touched)

    weights = {src.source: work(src) for src, _ in plan.todo} if progress is not None else {}
    relay = ProgressRelay(progress or (lambda _event: None), [src.source for src, _ in plan.todo], weights)
    relay.start()
    group = settings.embed_batch * settings.embed_in_flight
    pipeline = IndexPipeline(
        embedder,
        store,
        catalog,
        manifest,
        _extract_params(settings),
        workers=_workers(),
        group_texts=group,
        on_outcome=relay.on_outcome,
        on_page=relay.on_page if progress is not None else None,
        on_embedded=relay.on_embedded if progress is not None else None,
        sentence_vectors=settings.sentence_vectors,
    )
    result = pipeline.run(plan.todo)
    outcomes += result.outcomes
    outcomes = mark_still(
        outcomes + plan.ignored, plan.stats, skip_path(lay.home, settings.collection), save=result.error is None
    )
    if result.error is None and (stored is not None or catalog.counts()[0]):
        final = dataclasses.replace(manifest, dimension=result.dimension, updated_at=now_iso())
        catalog.write_manifest(final)
        store.write_manifest(final)
    warnings += _refresh_bm25(catalog, lay)
    if result.error is None and not result.interrupted and store.writer is None:
        clean_mark.record(lay, catalog)
    return _report(
        run, outcomes, plan, result, warnings, manifest.embed_model, orphans, repaired, chunks_removed=len(removed_ids)
    )


def _quick_noop(run: _Run, lay: IndexLayout, catalog: Catalog) -> IndexReport | None:
    """The report of a run with nothing to embed or drop, made without Chroma; None when the full run is needed.

    Call only when `clean_mark.is_clean`: the last write run completed at this catalog generation and Chroma is as it
    left it, so reconcile has nothing to find. The embedder is still opened, so a wrong model or an unreachable Ollama
    fails as in a full run; a manifest that would change (a new root, another digest) takes the full run, which
    records it.
    """
    stored = catalog.manifest()
    if stored is None:
        return None
    plan = _plan(run, catalog, lay)
    if plan.todo or plan.gone:
        return None
    settings = run.settings
    model = settings.embed_model_or_default if run.model_explicit else stored.embed_model
    with run.open_embedder(model) as embedder:
        manifest = wanted_manifest(embedder.info(), settings, stored, run.root)
    warnings = check_compatible(stored, manifest, collection=settings.collection)
    if dataclasses.replace(manifest, updated_at=stored.updated_at) != stored:
        return None
    catalog.touch_files(plan.touched)
    _emit(run.progress, IndexProgress("start", files_total=0, work_total=0))
    outcomes = mark_still(plan.skipped + plan.ignored, plan.stats, skip_path(lay.home, settings.collection), save=True)
    warnings += _refresh_bm25(catalog, lay)
    clean_mark.record(lay, catalog)
    return _report(run, outcomes, plan, None, warnings, manifest.embed_model, 0, 0, chunks_removed=0)


def _same_vectors(a: Manifest, b: Manifest) -> bool:
    return (a.embed_model, a.prefix_scheme, a.dimension) == (b.embed_model, b.prefix_scheme, b.dimension)


def _refresh_bm25(catalog: Catalog, lay: IndexLayout) -> list[str]:
    """Bring the BM25 side index up to the catalog's generation (a failure only costs a rebuild at query time)."""
    warnings: list[str] = []
    try:
        from rag.retrieve.bm25 import refresh

        refresh(catalog, lay.bm25, warn=warnings.append)  # incremental; a no-op run reads only its header
    except Exception as exc:  # never fail an index run over the side index
        return [f"BM25 index not updated ({exc}); it will be rebuilt on the next query"]
    return warnings


def _report(  # noqa: PLR0913
    run: _Run,
    outcomes: list[FileOutcome],
    plan: SyncPlan,
    result: PipelineResult | None,
    warnings: list[str],
    model: str,
    orphans: int,
    repaired: int,
    *,
    chunks_removed: int,
    dry_run: bool = False,
) -> IndexReport:
    seconds = time.monotonic() - run.start
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in (ADDED, UPDATED, REMOVED, SKIPPED, FAILED)}
    still = sum(1 for o in outcomes if o.still)
    ignored = sum(1 for o in outcomes if o.status == IGNORED)
    chunks_added = result.chunks_added if result is not None else 0
    return IndexReport(
        root=str(run.root),
        collection=run.settings.collection,
        added=counts[ADDED],
        updated=counts[UPDATED],
        removed=counts[REMOVED],
        unchanged=plan.unchanged,
        skipped=counts[SKIPPED] + counts[FAILED],
        chunks_added=chunks_added,
        chunks_removed=chunks_removed + (result.chunks_removed if result is not None else 0),
        seconds=round(seconds, 3),
        chunks_per_s=round(chunks_added / seconds, 1) if seconds > 0 else 0.0,
        files=sorted(outcomes, key=lambda o: o.source),
        warnings=warnings,
        interrupted=bool(result is not None and result.interrupted),
        error=result.error if result is not None else None,
        dry_run=dry_run,
        embed_model=normalize_model(model),
        orphans_removed=orphans,
        files_repaired=repaired,
        still_skipped=still,
        ignored=ignored,
    )


def _dry_run(run: _Run, lay: IndexLayout) -> IndexReport:
    settings = run.settings
    catalog = Catalog(lay.catalog, create=False) if lay.catalog.exists() else None
    try:
        stored = catalog.manifest() if catalog is not None else None
        plan = _plan(run, catalog, lay)
    finally:
        if catalog is not None:
            catalog.close()
    outcomes = list(plan.skipped)
    for src, rec in plan.todo:  # the cheap checks (header, encryption, ZIP directory) predict skips
        reason = precheck(src, pdf_password=settings.pdf_password)
        outcomes.append(
            FileOutcome(src.source, SKIPPED, reason) if reason else FileOutcome(src.source, UPDATED if rec else ADDED)
        )
    outcomes += [FileOutcome(r.source, REMOVED, chunks=r.chunks) for r in plan.gone]
    outcomes = mark_still(outcomes + plan.ignored, plan.stats, skip_path(lay.home, settings.collection), save=False)
    model = stored.embed_model if stored is not None else settings.embed_model_or_default
    return _report(
        run, outcomes, plan, None, [], model, 0, 0, chunks_removed=sum(r.chunks for r in plan.gone), dry_run=True
    )


def remove_path(
    path: str | os.PathLike[str], *, settings: Settings, no_wait: bool = False, progress: Progress | None = None
) -> RemoveReport:
    """Drop a file or folder (a path on disk, or a source prefix such as `docs/old`) from the collection."""
    with WriterLock(open_index(settings).layout.lock, no_wait=no_wait, on_wait=_message(progress)):
        index = open_index(settings)  # under the lock: a rebuild that ran while we waited switched the build
        with index.open_catalog(create=False) as catalog, contextlib.ExitStack() as stack:
            files = catalog.files()
            sources, label = _match_sources(path, files)
            clean_mark.forget(index.layout)  # the next index run reconciles in full
            store = stack.enter_context(index.open_store())
            if index.layout.chroma_url:
                _leave(store, index.layout, files, set(sources))
            ids = catalog.remove_files(sources)
            if ids:
                store.delete(sorted(ids))
            stored = catalog.manifest()
            if stored is not None:
                removed = set(sources)
                left = [Path(r.root) / s.partition("/")[2] for s, r in files.items() if s not in removed]
                roots = tuple(m for m in stored.roots if any(p == Path(m) or Path(m) in p.parents for p in left))
                kept = dataclasses.replace(stored, roots=roots, updated_at=now_iso())
                catalog.write_manifest(kept)
                store.write_manifest(kept)
            _refresh_bm25(catalog, index.layout)
    return RemoveReport(path=label, collection=settings.collection, files=sorted(sources), chunks_removed=len(ids))


def _leave(store: ChromaStore, lay: IndexLayout, files: dict[str, FileRecord], removed: set[str]) -> None:
    """Attach this writer for the removal, and give up the roots it no longer has files under."""
    assert store.registry is not None
    me = writer_identity(lay.home)
    record = store.registry.state().writers.get(me.id) or WriterRecord(me.id, me.host, me.home)
    left = {root_name(s) for s in files if s not in removed}
    record = dataclasses.replace(record, roots={k: v for k, v in record.roots.items() if k in left})
    store.registry.put_writer(record)
    store.attach_writer(WriterSession(store.registry, record))


def _match_sources(path: str | os.PathLike[str], files: dict[str, FileRecord]) -> tuple[list[str], str]:
    """Sources under `path`: resolved against each indexed root, else taken as a source key or prefix."""
    target = Path(path).expanduser().resolve()
    by_root: dict[str, dict[str, FileRecord]] = {}
    for source, record in files.items():
        by_root.setdefault(record.root, {})[source] = record
    matched = []
    for root_text, records in by_root.items():
        root = Path(root_text)
        if target in root.parents:  # a folder above the root: all of it
            matched += list(records)
        elif root == target or root in target.parents:
            prefix = root_key(root, records)
            rel = target.relative_to(root).as_posix() if target != root else ""
            want = f"{prefix}/{escape_name(rel)}" if rel else prefix
            matched += [s for s in records if s == want or s.startswith(want + "/")]
    if matched:
        return matched, str(target)
    key = str(path).strip("/")
    matched = [s for s in files if s == key or s.startswith(key + "/")]
    if not matched:
        raise IngestError(str(path), "nothing in the index under this path (see `rag status` for the indexed folders)")
    roots = sorted({files[s].root for s in matched})
    if len(roots) > 1:  # an index from before keys were unique per root
        raise IngestError(
            str(path),
            f"this name matches files of {len(roots)} indexed folders ({', '.join(roots)}); "
            "give the folder's path instead",
        )
    return matched, key
