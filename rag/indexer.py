"""Keep a collection in sync with folders: `index_folder`, `remove_path`, `index_status`.

Every write run holds the writer lock, then reconciles Chroma with the catalog (vectors without a catalog row are a
crashed run's orphans and are deleted; catalog chunks whose vectors are missing mark their file for re-embedding),
then applies the folder's changes. So a run killed at any point is completed by the next one, which ends with the same
chunk ids as a clean run.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from ingest import chunking
from ingest.discover import escape_name
from ingest.pipeline import ExtractParams

from rag.catalog import Catalog
from rag.config import Settings
from rag.errors import IngestError
from rag.index_pipeline import IndexPipeline
from rag.index_plan import SyncPlan, plan_sync, root_key
from rag.index_report import REMOVED, FileOutcome, IndexProgress, IndexReport, RemoveReport
from rag.layout import IndexLayout, layout
from rag.lock import WriterLock
from rag.manifest import Manifest, check_compatible, normalize_model, now_iso
from rag.store import ChromaStore

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
        raise IngestError(escape_name(str(root)), "this path is not valid UTF-8: rename it, or index the folder above "
                                                  "it") from None
    return root


def wanted_manifest(info: Any, settings: Settings, stored: Manifest | None, root: Path | None) -> Manifest:
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
    """Make Chroma agree with the catalog; returns (orphan vectors deleted, files marked for re-embedding)."""
    files, chunks = catalog.counts()
    if files == 0 and chunks == 0:
        if store.count():
            store.drop()  # a fresh or reset catalog: whatever Chroma holds is left over
        return 0, 0
    in_chroma = store.all_ids()
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


def _plan(root: Path, catalog: Catalog | None, lay: IndexLayout, settings: Settings, include: Iterable[str],
          exclude: Iterable[str]) -> SyncPlan:
    return plan_sync(
        root, catalog.files() if catalog is not None else {}, include=include, exclude=exclude,
        max_file_bytes=settings.max_file_bytes, skip_dirs=[lay.index_dir, lay.home],
    )


def index_folder(
    path: str | os.PathLike[str],
    *,
    settings: Settings,
    open_embedder: Callable[[str], Any],
    model_explicit: bool,
    rebuild: bool = False,
    dry_run: bool = False,
    no_wait: bool = False,
    progress: Progress | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> IndexReport:
    """Sync `settings.collection` with the folder (or file) at `path`; see `rag.RAG.index` for the behaviour."""
    start = time.monotonic()
    root = _root(path)
    lay = layout(settings.index_dir, settings.chroma_url, settings.collection)
    if dry_run:
        return _dry_run(root, lay, settings, include, exclude, start)
    with WriterLock(lay.lock, no_wait=no_wait, on_wait=_message(progress)):
        with Catalog(lay.catalog, collection=settings.collection) as catalog:
            store = ChromaStore(lay.index_dir, lay.chroma_url, lay.collection)
            if rebuild:
                catalog.reset()  # catalog first: a crash here leaves only orphans, which the next run drops
                store.drop()
            return _sync(root, lay, settings, catalog, store, open_embedder, model_explicit, progress, include,
                         exclude, start)


def _sync(root: Path, lay: IndexLayout, settings: Settings, catalog: Catalog, store: ChromaStore,
          open_embedder: Callable[[str], Any], model_explicit: bool, progress: Progress | None,
          include: Iterable[str], exclude: Iterable[str], start: float) -> IndexReport:
    stored = catalog.manifest()
    model = stored.embed_model if stored is not None and not model_explicit else settings.embed_model_or_default
    with open_embedder(model) as embedder:
        return _sync_with(embedder, root, lay, settings, catalog, store, stored, progress, include, exclude, start)


def _sync_with(embedder: Any, root: Path, lay: IndexLayout, settings: Settings, catalog: Catalog, store: ChromaStore,
               stored: Manifest | None, progress: Progress | None, include: Iterable[str], exclude: Iterable[str],
               start: float) -> IndexReport:
    manifest = wanted_manifest(embedder.info(), settings, stored, root)
    warnings = check_compatible(stored, manifest, collection=settings.collection) if stored is not None else []
    orphans, repaired = reconcile(catalog, store)
    plan = _plan(root, catalog, lay, settings, include, exclude)
    outcomes: list[FileOutcome] = list(plan.skipped)
    gone = [r.source for r in plan.gone]
    removed_ids = catalog.remove_files(gone)  # catalog first: a crash before the delete leaves orphans only
    if removed_ids:
        store.delete(sorted(removed_ids))
    outcomes += [FileOutcome(r.source, REMOVED, chunks=r.chunks, pages=r.pages) for r in plan.gone]
    catalog.touch_files(plan.touched)

    total = len(plan.todo)
    _emit(progress, IndexProgress("start", files_total=total))
    done = [0]

    def on_outcome(outcome: FileOutcome, chunks: int) -> None:
        done[0] += 1
        _emit(progress, IndexProgress("file", files_done=done[0], files_total=total, chunks=chunks, outcome=outcome))

    group = settings.embed_batch * settings.embed_in_flight
    pipeline = IndexPipeline(embedder, store, catalog, manifest, _extract_params(settings), workers=_workers(),
                             group_chunks=group, on_outcome=on_outcome)
    result = pipeline.run(plan.todo)
    outcomes += result.outcomes
    if result.error is None and (stored is not None or catalog.counts()[0]):
        final = dataclasses.replace(manifest, dimension=result.dimension, updated_at=now_iso())
        catalog.write_manifest(final)
        store.write_manifest(final)
    warnings += _refresh_bm25(catalog, lay)
    return _report(root, settings, outcomes, plan, result, warnings, manifest.embed_model, orphans, repaired, start,
                   chunks_removed=len(removed_ids))


def _refresh_bm25(catalog: Catalog, lay: IndexLayout) -> list[str]:
    """Bring the BM25 side index up to the catalog's generation (a failure only costs a rebuild at query time)."""
    try:
        from rag.bm25 import load_or_build

        load_or_build(catalog, lay.bm25)
    except Exception as exc:  # never fail an index run over the side index
        return [f"BM25 index not updated ({exc}); it will be rebuilt on the next query"]
    return []


def _report(root: Path, settings: Settings, outcomes: list[FileOutcome], plan: SyncPlan, result: Any,
            warnings: list[str], model: str, orphans: int, repaired: int, start: float, *, chunks_removed: int,
            dry_run: bool = False) -> IndexReport:
    seconds = time.monotonic() - start
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("added", "updated", "removed", "skipped", "failed")}
    chunks_added = result.chunks_added if result is not None else 0
    return IndexReport(
        root=str(root), collection=settings.collection, added=counts["added"], updated=counts["updated"],
        removed=counts["removed"], unchanged=plan.unchanged, skipped=counts["skipped"] + counts["failed"],
        chunks_added=chunks_added,
        chunks_removed=chunks_removed + (result.chunks_removed if result is not None else 0),
        seconds=round(seconds, 3), chunks_per_s=round(chunks_added / seconds, 1) if seconds > 0 else 0.0,
        files=sorted(outcomes, key=lambda o: o.source), warnings=warnings,
        interrupted=bool(result is not None and result.interrupted), error=result.error if result is not None else None,
        dry_run=dry_run, embed_model=normalize_model(model), orphans_removed=orphans, files_repaired=repaired,
    )


def _dry_run(root: Path, lay: IndexLayout, settings: Settings, include: Iterable[str], exclude: Iterable[str],
             start: float) -> IndexReport:
    catalog = Catalog(lay.catalog, create=False) if lay.catalog.exists() else None
    try:
        stored = catalog.manifest() if catalog is not None else None
        plan = _plan(root, catalog, lay, settings, include, exclude)
    finally:
        if catalog is not None:
            catalog.close()
    outcomes = list(plan.skipped)
    outcomes += [FileOutcome(src.source, "updated" if rec else "added") for src, rec in plan.todo]
    outcomes += [FileOutcome(r.source, REMOVED, chunks=r.chunks) for r in plan.gone]
    model = stored.embed_model if stored is not None else settings.embed_model_or_default
    return _report(root, settings, outcomes, plan, None, [], model, 0, 0, start,
                   chunks_removed=sum(r.chunks for r in plan.gone), dry_run=True)


def remove_path(path: str | os.PathLike[str], *, settings: Settings, no_wait: bool = False,
                progress: Progress | None = None) -> RemoveReport:
    """Drop a file or folder (a path on disk, or a source prefix such as `docs/old`) from the collection."""
    lay = layout(settings.index_dir, settings.chroma_url, settings.collection)
    with WriterLock(lay.lock, no_wait=no_wait, on_wait=_message(progress)):
        with Catalog(lay.catalog, create=False, collection=settings.collection) as catalog:
            files = catalog.files()
            sources, label = _match_sources(path, files)
            store = ChromaStore(lay.index_dir, lay.chroma_url, lay.collection)
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
            _refresh_bm25(catalog, lay)
    return RemoveReport(path=label, collection=settings.collection, files=sorted(sources), chunks_removed=len(ids))


def _match_sources(path: str | os.PathLike[str], files: dict[str, Any]) -> tuple[list[str], str]:
    """Sources under `path`: resolved against each indexed root, else taken as a source key or prefix."""
    target = Path(path).expanduser().resolve()
    by_root: dict[str, dict[str, Any]] = {}
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
        raise IngestError(str(path), f"this name matches files of {len(roots)} indexed folders ({', '.join(roots)}); "
                                     "give the folder's path instead")
    return matched, key
