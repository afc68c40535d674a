"""Find the files to index under a folder: types, ignore rules, symlink safety, size limit."""
from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.errors import IngestError

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
IGNORE_FILE = ".ragignore"
NOISE_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".rag", ".tox", ".mypy_cache",
     ".pytest_cache"}
)
KINDS_BY_SUFFIX = {
    ".pdf": "pdf",
    ".txt": "text", ".text": "text", ".rst": "text", ".log": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".tsv": "csv",
    ".epub": "epub",
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".tif": "image", ".tiff": "image",
}
_SNIFF_BYTES = 4096
IMAGE_NEEDS_OCR = "image: install ollama-rag[ocr] to read its text"


def ignored_reason(rel: str, kind: str | None) -> str | None:
    """Why a file of this kind (None: unknown) is not indexed, in the words the summary groups by; None if it is."""
    if kind == "image":
        from ingest.loaders import ocr

        return None if ocr.available() else IMAGE_NEEDS_OCR
    if kind is not None:
        return None
    suffix = Path(rel).suffix.lower()
    return f"unsupported type {suffix}" if suffix else "binary file without an extension"


@dataclass(frozen=True)
class SourceFile:
    """One file found by `discover`."""

    root: Path
    """The resolved folder that was scanned."""
    rel: str
    """Path relative to `root`, with forward slashes."""
    source: str
    """Storage key `<root folder name>/<rel>`: what chunk ids, citations and the catalog use."""
    size: int
    """Bytes."""
    mtime_ns: int
    kind: str
    """"pdf", "text", "markdown" or "html"."""
    skip_reason: str | None = None
    """Set when the file is known to be skipped without reading it (e.g. over the size limit)."""
    _digest: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.root / self.rel

    def sha256(self) -> str:
        """Hex sha256 of the file's bytes, computed on first call and cached. Raises OSError if unreadable."""
        if not self._digest:
            digest = hashlib.sha256()
            with open(self.path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            self._digest.append(digest.hexdigest())
        return self._digest[0]


def discover(
    root: str | os.PathLike[str],
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    skip_dirs: Iterable[str | os.PathLike[str]] = (),
    ignored: list[tuple[str, str]] | None = None,
) -> Iterator[SourceFile]:
    """Yield the indexable files under `root`, sorted by relative path.

    Recursive. Skips hidden files and folders, `NOISE_DIRS`, folders in `skip_dirs` (e.g. the index folder), paths
    matched by a `.ragignore` (gitignore syntax; one at the root and in any subfolder) or by `exclude`, and, when
    `include` is given, files it does not match (both take gitignore-style patterns relative to `root`). Symlinks are
    followed only while they stay inside `root`; loops are survived. Types come from the extension (see
    `KINDS_BY_SUFFIX`), or from the content for files without one; other files are not yielded but appended to
    `ignored` (when given) as `(source, reason)`, e.g. "unsupported type .key" (see `ignored_reason`). Files over
    `max_file_bytes` are yielded with `skip_reason` set and are never read. `root` may also be a single file.

    Raises:
        IngestError: `root` does not exist.
    """
    given = Path(root).expanduser()
    if not given.exists():
        raise IngestError(str(given), "no such file or folder")
    resolved = given.resolve()
    if resolved.is_file():
        found = _make_source(resolved.parent, resolved.name, resolved, max_file_bytes, ignored=ignored)
        if found is not None:
            yield found
        return
    walk = _Walk(
        resolved,
        include=_spec(include),
        exclude=_spec(exclude),
        skip_dirs={Path(p).expanduser().resolve() for p in skip_dirs},
        max_file_bytes=max_file_bytes,
    )
    walk.ignored = ignored
    yield from sorted(walk.run(), key=lambda s: s.rel)


def _spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec | None:
    lines = [p for p in patterns if p and p.strip()]
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


class _Walk:
    """One depth-first scan; collects SourceFiles."""

    def __init__(self, root: Path, *, include, exclude, skip_dirs: set[Path], max_file_bytes: int) -> None:
        self.root = root
        self.include = include
        self.exclude = exclude
        self.skip_dirs = skip_dirs
        self.max_file_bytes = max_file_bytes
        self.visited: set[Path] = set()
        self.found: list[SourceFile] = []
        self.ignored: list[tuple[str, str]] | None = None

    def run(self) -> list[SourceFile]:
        self._scan(self.root, "", [])
        return self.found

    def _ignored(self, rel: str, is_dir: bool, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> bool:
        probe = rel + "/" if is_dir else rel
        for base, spec in ignores:
            if spec.match_file(probe[len(base):]):
                return True
        return bool(self.exclude and self.exclude.match_file(probe))

    def _scan(self, real_dir: Path, rel_dir: str, ignores: list[tuple[str, pathspec.GitIgnoreSpec]]) -> None:
        if real_dir in self.visited:
            return  # a symlink loop, or the same folder reached twice
        self.visited.add(real_dir)
        ignore_file = real_dir / IGNORE_FILE
        if ignore_file.is_file():
            try:
                lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
                ignores = [*ignores, (rel_dir, pathspec.GitIgnoreSpec.from_lines(lines))]
            except OSError:
                pass
        try:
            entries = sorted(os.scandir(real_dir), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = rel_dir + entry.name
            target = Path(entry.path) if not entry.is_symlink() else self._inside_root(Path(entry.path))
            if target is None:
                continue
            try:  # scandir already holds a plain entry's stat; only a symlink's target needs a call
                st = target.stat() if entry.is_symlink() else entry.stat()
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if entry.name in NOISE_DIRS or target in self.skip_dirs or self._ignored(rel, True, ignores):
                    continue
                self._scan(target, rel + "/", ignores)
            elif stat.S_ISREG(st.st_mode) and not self._ignored(rel, False, ignores):
                if self.include and not self.include.match_file(rel):
                    continue
                found = _make_source(self.root, rel, target, self.max_file_bytes, st, ignored=self.ignored)
                if found is not None:
                    self.found.append(found)

    def _inside_root(self, path: Path) -> Path | None:
        """The real path of `path`, or None when a symlink leads outside the root (or nowhere)."""
        if not path.is_symlink():
            return path
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return target if target == self.root or self.root in target.parents else None


def _make_source(root: Path, rel: str, real: Path, max_file_bytes: int, st: os.stat_result | None = None, *,
                 ignored: list[tuple[str, str]] | None = None) -> SourceFile | None:
    st = st or real.stat()
    kind = KINDS_BY_SUFFIX.get(Path(rel).suffix.lower())
    if kind is None and not Path(rel).suffix:
        kind = _sniff(real)
    reason = ignored_reason(rel, kind)
    if reason is not None or kind is None:
        if ignored is not None and reason is not None:
            ignored.append((f"{root.name}/{rel}", reason))
        return None
    skip = None
    if st.st_size > max_file_bytes:
        skip = f"file too large: {st.st_size / 1e6:.1f} MB (limit {max_file_bytes / 1e6:.1f} MB)"
    return SourceFile(
        root=root, rel=rel, source=f"{root.name}/{rel}", size=st.st_size, mtime_ns=st.st_mtime_ns, kind=kind,
        skip_reason=skip,
    )


def sniff_kind(head: bytes) -> str | None:
    """The kind of a file without an extension, from its first bytes: "pdf", "html", "text", or None (binary)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"
    if b"\x00" in head:
        return None
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut by the sniff window
            import charset_normalizer

            return "text" if charset_normalizer.from_bytes(head).best() is not None else None
    return "text"


def _sniff(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return None
    return sniff_kind(head) if head else None
