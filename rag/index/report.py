"""Typed results of the index stage: what `rag index`, `rag remove` and `rag status` return (and print as --json)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag._result import Result
from rag.vocab import FileStatus

ADDED: FileStatus = "added"
UPDATED: FileStatus = "updated"
UNCHANGED: FileStatus = "unchanged"
REMOVED: FileStatus = "removed"
SKIPPED: FileStatus = "skipped"
FAILED: FileStatus = "failed"
IGNORED: FileStatus = "ignored"
"""A file the walk saw but does not index by type (e.g. "unsupported type .key"); never fails a run."""


@dataclass(frozen=True)
class FileOutcome(Result):
    """What happened to one file in a run."""

    source: str
    """Storage key `<root folder name>/<relative path>`."""
    status: FileStatus
    """"added", "updated", "unchanged", "removed", "skipped" or "failed"."""
    reason: str | None = None
    """Why it was skipped or failed."""
    warnings: tuple[str, ...] = ()
    chunks: int = 0
    """Chunks stored for it (added/updated), or removed (removed)."""
    pages: int | None = None
    still: bool = False
    """Skipped in an earlier run too and unchanged since ("still skipped"): it does not make the exit code 1."""


@dataclass(frozen=True)
class IndexReport(Result):
    """Summary of one `index` run over a folder."""

    root: str
    """Absolute folder that was synced."""
    collection: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0
    """Files skipped or failed (each with its reason in `files`)."""
    chunks_added: int = 0
    """Chunks embedded and stored in this run."""
    chunks_removed: int = 0
    seconds: float = 0.0
    chunks_per_s: float = 0.0
    files: list[FileOutcome] = field(default_factory=list)
    """Every file that was not unchanged (unchanged ones are only counted)."""
    warnings: list[str] = field(default_factory=list)
    interrupted: bool = False
    """Stopped early (Ctrl-C, or a fatal error): finished files are kept, the next run completes the rest."""
    error: str | None = None
    """The fatal error that stopped the run, if any."""
    dry_run: bool = False
    """Nothing was written: the counts say what a real run would do."""
    embed_model: str = ""
    orphans_removed: int = 0
    """Vectors found in Chroma without a catalog row (a crashed run's leftovers), deleted."""
    files_repaired: int = 0
    """Files whose vectors had gone missing from Chroma, re-embedded."""
    still_skipped: int = 0
    """Of `skipped`, files skipped before and unchanged since (listed, but not a failure of this run)."""
    ignored: int = 0
    """Files seen but not indexed by type (status "ignored" in `files`, with the reason)."""

    @property
    def indexed(self) -> int:
        """Files of this folder now in the index."""
        return self.added + self.updated + self.unchanged

    @property
    def exit_code(self) -> int:
        """0 ok, 1 a file new or changed in this run was skipped or failed, 2 fatal or nothing indexed."""
        if self.error or (self.indexed == 0 and self.removed == 0):
            return 2
        return 1 if self.skipped > self.still_skipped else 0


@dataclass(frozen=True)
class RemoveReport(Result):
    """What `remove` dropped from the index."""

    path: str
    """The file or folder as given (absolute) or the source prefix it matched."""
    collection: str
    files: list[str] = field(default_factory=list)
    """Sources removed."""
    chunks_removed: int = 0


@dataclass(frozen=True)
class CollectionStatus(Result):
    """One collection in `status`."""

    name: str
    model: str | None
    """Embedding model (normalised name) from the manifest."""
    dimension: int | None
    files: int
    chunks: int
    """Chunks in the catalog."""
    vectors: int | None
    """Vectors in Chroma (equal to chunks when consistent; None if Chroma could not be read)."""
    updated_at: str | None
    roots: list[str]
    catalog: str
    """Path of the catalog file."""
    backend: str | None = None
    prefix_scheme: str | None = None
    chunk_tokens: int | None = None
    chunk_overlap: int | None = None
    stale_files: int = 0
    """Files waiting for re-embedding (vectors lost from Chroma)."""
    store_error: str | None = None
    """Why Chroma could not be read (e.g. the server is unreachable, with the fix); None when it answered."""


@dataclass(frozen=True)
class Status(Result):
    """Where the index lives and what it holds, and where the user's config is."""

    index_dir: str
    """The index folder (--index, $RAG_INDEX, else the platform data folder)."""
    chroma_url: str | None
    """Chroma server, or None for the embedded store."""
    chroma_path: str | None
    """Embedded Chroma data folder (None in server mode)."""
    catalog_dir: str
    """Folder with the SQLite catalogs, BM25 files and write.lock: index_dir for the embedded store, its
    servers/<host>_<port>/ sub-folder for a Chroma server."""
    user_dir: str
    """The user folder holding the config file and chat history (not the index)."""
    config_path: str
    """The TOML config file, whether it exists yet or not."""
    collections: list[CollectionStatus] = field(default_factory=list)
    locked_by: int | None = None
    """pid of a running writer, if any."""


@dataclass(frozen=True)
class IndexProgress(Result):
    """A progress event of an index run, passed to the `progress` callback."""

    event: str
    """"message" (e.g. waiting for the lock), "start" (files_total known), "file" (one file done) or "page"
    (progress inside the file `current`: see `stage`)."""
    files_done: int = 0
    files_total: int = 0
    """Files to extract and embed in this run (unchanged files are not counted)."""
    chunks: int = 0
    """Chunks stored so far in this run."""
    outcome: FileOutcome | None = None
    message: str | None = None
    work_done: int = 0
    work_total: int = 0
    """Work of the files done / of all files to do, in units weighted by pages and bytes (`ingest.precheck.work`):
    a 352-page book weighs what it costs, so a rate and ETA over these units hold while it is being read."""
    current: str | None = None
    """The file being worked on now (the first one not done yet, in order; in a "page" event, the file it is
    about), or None when all are done."""
    stage: str | None = None
    """In a "page" event: "text" (PDF pages read), "ocr" (pages OCR'd) or "embed" (the file's chunks embedded)."""
    stage_done: int = 0
    stage_total: int = 0
    """In a "page" event: pages (or chunks, for "embed") of `current` done / to do in this stage."""
