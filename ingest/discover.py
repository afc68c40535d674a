"""Find the files to index under a folder: types, ignore rules, symlink safety, size limit, unreadable parts."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ingest.errors import IngestError
from ingest.safe_open import open_inside, read_inside

DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
IGNORE_FILE = ".ragignore"
NOISE_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".rag",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
    }
)
KINDS_BY_SUFFIX = {
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".log": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".docx": "docx",
    ".pptx": "pptx",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".csv": "csv",
    ".tsv": "csv",
    ".epub": "epub",
    ".odt": "odt",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}
_SNIFF_BYTES = 4096
_SURROGATES = re.compile("[\udc80-\udcff]")
IMAGE_NEEDS_OCR = "image: install ollama-rag[ocr] to read its text"


def ignored_reason(rel: str, kind: str | None) -> str | None:
    """Why a file of this kind (None: unknown) is not indexed, in the words the summary groups by; None if it is."""
    if kind == "image":
        from ingest.loaders import ocr

        return None if ocr.available() else IMAGE_NEEDS_OCR
    if kind is not None:
        return None
    suffix = _suffix(rel).lower()
    return f"unsupported type {suffix}" if suffix else "binary file without an extension"


def escape_name(name: str) -> str:
    """A file name as valid Unicode for keys and output: each undecodable byte (a surrogate escape) as `\\xNN`."""
    return _SURROGATES.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", name)


@dataclass(frozen=True)
class SourceFile:
    """One file found by `discover`."""

    root: Path
    """The resolved folder that was scanned."""
    rel: str
    """Path relative to `root`, with forward slashes (as the OS names it: undecodable bytes are surrogate escapes)."""
    source: str
    """Storage key `<root key>/<rel>` (the root key is the folder name unless a caller chose another; undecodable
    bytes of `rel` as `\\xNN`): what chunk ids, citations and the catalog use."""
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
            try:
                fd = open_inside(self.path, self.root, self.source)
            except IngestError as exc:
                raise OSError(errno.EIO, exc.reason, str(self.path)) from exc
            with os.fdopen(fd, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            self._digest.append(digest.hexdigest())
        return self._digest[0]


@dataclass(frozen=True)
class Unreadable:
    """A folder that cannot be listed, or a file that cannot be read, found by `scan`: skipped, never "deleted"."""

    rel: str
    """Path relative to the root ("" for the root itself), forward slashes, as the OS names it."""
    source: str
    """Its storage key (a folder's is the key prefix of every file under it)."""
    reason: str
    is_dir: bool
    kind: str | None = None
    """A file's kind from its extension (None when unknown)."""


@dataclass(frozen=True)
class Discovery:
    """What `scan` found: the files, sorted by `rel`, and what it could not read."""

    files: tuple[SourceFile, ...]
    unreadable: tuple[Unreadable, ...] = ()
    ignored: tuple[tuple[str, str], ...] = ()
    """(source, reason) of files seen but not indexed by type, e.g. "unsupported type .key"."""


def discover(
    root: str | os.PathLike[str],
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    skip_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Iterator[SourceFile]:
    """Yield the indexable files under `root`, sorted by relative path.

    Recursive. Skips hidden files and folders, `NOISE_DIRS`, folders in `skip_dirs` (e.g. the index folder), paths
    matched by a `.ragignore` (gitignore syntax; one at the root and in any subfolder) or by `exclude`, and, when
    `include` is given, files it does not match (both take gitignore-style patterns relative to `root`). Symlinks are
    followed only while they stay inside `root`; loops are survived. Types come from the extension (see
    `KINDS_BY_SUFFIX`), or from the content for files without one; other files are left out (`scan` reports them as
    ignored, with the reason). Files over
    `max_file_bytes` are yielded with `skip_reason` set and are never read. `root` may also be a single file.
    Folders and files that cannot be read are left out here; `scan` reports them.

    Raises:
        IngestError: `root` does not exist.
    """
    yield from scan(root, include=include, exclude=exclude, max_file_bytes=max_file_bytes, skip_dirs=skip_dirs).files


def scan(
    root: str | os.PathLike[str],
    *,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    skip_dirs: Iterable[str | os.PathLike[str]] = (),
    key: str | None = None,
    within: str = "",
) -> Discovery:
    """`discover`, also reporting what cannot be read (a folder that cannot be listed is not an empty folder).

    Args:
        key: the root's key prefix in `SourceFile.source` (default: the root folder's name).
        within: scan only this path relative to `root` (a file or a subfolder; "" for all). Ignore rules of the
            folders above it apply, except to a single file named this way.

    Raises:
        IngestError: `root` (or `within`) does not exist.
    """
    given = Path(root).expanduser()
    if not _exists(given):
        raise IngestError(str(given), "no such file or folder")
    resolved = given.resolve()
    if not _is_dir(resolved):
        prefix = escape_name(resolved.parent.name) if key is None else key
        return _single(resolved.parent, resolved.name, prefix, max_file_bytes)
    prefix = escape_name(resolved.name) if key is None else key
    within = within.strip("/")
    if within and not _is_dir(resolved / within):
        if not _exists(resolved / within):
            raise IngestError(str(resolved / within), "no such file or folder")
        return _single(resolved, within, prefix, max_file_bytes)
    walk = _Walk(
        resolved,
        prefix,
        include=_spec(include),
        exclude=_spec(exclude),
        skip_dirs={Path(p).expanduser().resolve() for p in skip_dirs},
        max_file_bytes=max_file_bytes,
    )
    files, unreadable = walk.run(within)
    return Discovery(
        tuple(sorted(files, key=lambda s: s.rel)),
        tuple(sorted(unreadable, key=lambda u: u.rel)),
        tuple(sorted(walk.ignored)),
    )


def _exists(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno not in (errno.ENOENT, errno.ENOTDIR)  # unreadable is not missing
    return True


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _single(root: Path, rel: str, prefix: str, max_file_bytes: int) -> Discovery:
    try:
        st = os.stat(root / rel)
    except OSError as exc:
        return Discovery((), (_unreadable_file(root, rel, prefix, exc),))
    if not _readable(st, _my_groups()):
        return Discovery((), (_unreadable_file(root, rel, prefix, PermissionError(errno.EACCES, "Permission denied")),))
    if not stat.S_ISREG(st.st_mode):
        return Discovery(())
    ignored: list[tuple[str, str]] = []
    found = _make_source(root, rel, root / rel, max_file_bytes, st, prefix, ignored)
    return Discovery((found,) if found is not None else (), ignored=tuple(ignored))


def _unreadable_file(root: Path, rel: str, prefix: str, exc: OSError) -> Unreadable:
    return Unreadable(
        rel,
        _key(prefix, rel),
        _reason("file cannot be read", exc),
        False,
        KINDS_BY_SUFFIX.get(Path(rel).suffix.lower()),
    )


def _key(prefix: str, rel: str) -> str:
    return f"{prefix}/{escape_name(rel)}" if rel else prefix


def _reason(what: str, exc: OSError) -> str:
    return f"{what}: {exc.strerror or exc} (its indexed chunks are kept)"


def _my_groups() -> frozenset[int]:
    if os.name != "posix":
        return frozenset()
    return frozenset({os.getegid(), *os.getgroups()})


def _readable(st: os.stat_result, groups: frozenset[int], euid: int | None = None) -> bool:
    """Whether the read permission bits let this process read it (root reads everything; ACLs are not seen)."""
    if os.name != "posix":
        return True
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return True
    if st.st_uid == euid:
        return bool(st.st_mode & stat.S_IRUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IRGRP)
    return bool(st.st_mode & stat.S_IROTH)


def _spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec | None:
    lines = [p for p in patterns if p and p.strip()]
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


_Ignores = list[tuple[str, pathspec.GitIgnoreSpec]]


class _Walk:
    """One depth-first scan with an explicit stack (no recursion limit on depth); collects SourceFiles."""

    def __init__(
        self,
        root: Path,
        prefix: str,
        *,
        include: pathspec.GitIgnoreSpec | None,
        exclude: pathspec.GitIgnoreSpec | None,
        skip_dirs: set[Path],
        max_file_bytes: int,
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.include = include
        self.exclude = exclude
        self.skip_dirs = skip_dirs
        self.max_file_bytes = max_file_bytes
        self.groups = _my_groups()
        self.euid = os.geteuid() if os.name == "posix" else 0
        self.visited: set[Path] = set()
        self.found: list[SourceFile] = []
        self.unreadable: list[Unreadable] = []
        self.ignored: list[tuple[str, str]] = []
        self.stack: list[tuple[Iterator[os.DirEntry[str]], str, _Ignores]] = []

    def run(self, within: str = "") -> tuple[list[SourceFile], list[Unreadable]]:
        ignores: _Ignores = []
        rel_dir = ""
        parts = [p for p in within.split("/") if p]
        for part in parts:  # the ignore files of the folders above `within`
            ignores = self._with_ignore_file(self.root / rel_dir, rel_dir, ignores)
            rel_dir += part + "/"
        start = (self.root / within).resolve() if within else self.root
        self._enter(start, rel_dir, ignores)
        while self.stack:
            entries, rel_dir, ignores = self.stack[-1]
            entry = next(entries, None)
            if entry is None:
                self.stack.pop()
            else:
                self._visit(entry, rel_dir, ignores)
        return self.found, self.unreadable

    def _ignored(self, rel: str, is_dir: bool, ignores: _Ignores) -> bool:
        probe = rel + "/" if is_dir else rel
        for base, spec in ignores:
            if spec.match_file(probe[len(base) :]):
                return True
        return bool(self.exclude and self.exclude.match_file(probe))

    @staticmethod
    def _with_ignore_file(real_dir: Path, rel_dir: str, ignores: _Ignores) -> _Ignores:
        try:
            with open(real_dir / IGNORE_FILE, encoding="utf-8", errors="replace") as fh:
                lines = fh.read().splitlines()
        except OSError:  # none, or unreadable: no rules from it
            return ignores
        return [*ignores, (rel_dir, pathspec.GitIgnoreSpec.from_lines(lines))]

    def _enter(self, real_dir: Path, rel_dir: str, ignores: _Ignores) -> None:
        if real_dir in self.visited:
            return  # a symlink loop, or the same folder reached twice
        self.visited.add(real_dir)
        try:
            with os.scandir(real_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            rel = rel_dir.rstrip("/")
            self.unreadable.append(Unreadable(rel, _key(self.prefix, rel), _reason("folder cannot be read", exc), True))
            return
        if any(e.name == IGNORE_FILE for e in entries):
            ignores = self._with_ignore_file(real_dir, rel_dir, ignores)
        self.stack.append((iter(entries), rel_dir, ignores))

    def _visit(self, entry: os.DirEntry[str], rel_dir: str, ignores: _Ignores) -> None:
        if entry.name.startswith("."):
            return
        rel = rel_dir + entry.name
        link = entry.is_symlink()
        target = self._inside_root(Path(entry.path)) if link else None  # a plain entry's Path is built only if needed
        if link and target is None:
            return
        try:  # scandir already holds a plain entry's stat; only a symlink's target needs a call
            st = target.stat() if target is not None else entry.stat()
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                self._cannot_read(entry, rel, ignores, exc)
            return
        if stat.S_ISDIR(st.st_mode):
            real = target if target is not None else Path(entry.path)
            if entry.name in NOISE_DIRS or real in self.skip_dirs or self._ignored(rel, True, ignores):
                return
            self._enter(real, rel + "/", ignores)
        elif stat.S_ISREG(st.st_mode) and not self._ignored(rel, False, ignores):
            if self.include and not self.include.match_file(rel):
                return
            if self.euid and not _readable(st, self.groups, self.euid):
                self.unreadable.append(
                    _unreadable_file(self.root, rel, self.prefix, PermissionError(errno.EACCES, "Permission denied"))
                )
                return
            path: Path | str = target if target is not None else entry.path
            found = _make_source(self.root, rel, path, self.max_file_bytes, st, self.prefix, self.ignored)
            if found is not None:
                self.found.append(found)

    def _cannot_read(self, entry: os.DirEntry[str], rel: str, ignores: _Ignores, exc: OSError) -> None:
        """An entry that cannot even be stat'ed (its folder is listable but not searchable)."""
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if (is_dir and entry.name in NOISE_DIRS) or self._ignored(rel, is_dir, ignores):
            return
        if is_dir:
            self.unreadable.append(Unreadable(rel, _key(self.prefix, rel), _reason("folder cannot be read", exc), True))
        elif not self.include or self.include.match_file(rel):
            self.unreadable.append(_unreadable_file(self.root, rel, self.prefix, exc))

    def _inside_root(self, path: Path) -> Path | None:
        """The real path of `path`, or None when a symlink leads outside the root (or nowhere)."""
        if not path.is_symlink():
            return path
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return target if target == self.root or self.root in target.parents else None


def _suffix(rel: str) -> str:
    """`Path(rel).suffix` without building a Path (the walk calls this once per file)."""
    name = rel.rpartition("/")[2]
    i = name.rfind(".")
    return name[i:] if 0 < i < len(name) - 1 else ""


def _make_source(
    root: Path,
    rel: str,
    real: Path | str,
    max_file_bytes: int,
    st: os.stat_result | None = None,
    prefix: str | None = None,
    ignored: list[tuple[str, str]] | None = None,
) -> SourceFile | None:
    st = st or os.stat(real)
    suffix = _suffix(rel)
    kind = KINDS_BY_SUFFIX.get(suffix.lower())
    if kind is None and not suffix:
        kind = _sniff(Path(real), root)
    reason = ignored_reason(rel, kind)
    prefix = escape_name(root.name) if prefix is None else prefix
    if reason is not None or kind is None:
        if ignored is not None and reason is not None:
            ignored.append((_key(prefix, rel), reason))
        return None
    skip = None
    if st.st_size > max_file_bytes:
        skip = f"file too large: {st.st_size / 1e6:.1f} MB (limit {max_file_bytes / 1e6:.1f} MB)"
    return SourceFile(
        root=root,
        rel=rel,
        source=_key(prefix, rel),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        kind=kind,
        skip_reason=skip,
    )


def utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le" / "utf-16-be" when the bytes look like BOM-less UTF-16 of mostly Latin text (every other byte
    zero), else None."""
    n = len(head) // 2
    if n < 2:
        return None
    even_zero = head[0 : 2 * n : 2].count(0) / n
    odd_zero = head[1 : 2 * n : 2].count(0) / n
    if odd_zero >= 0.6 and even_zero <= 0.02:
        return "utf-16-le"
    if even_zero >= 0.6 and odd_zero <= 0.02:
        return "utf-16-be"
    return None


def sniff_kind(head: bytes) -> str | None:
    """The kind of a file without an extension, from its first bytes: "pdf", "html", "text", or None (binary)."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"
    if b"\x00" in head:
        return "text" if utf16_without_bom(head) else None
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


def _sniff(path: Path, root: Path) -> str | None:
    try:
        head = read_inside(path, root, str(path), limit=_SNIFF_BYTES)
    except IngestError:
        return None
    return sniff_kind(head) if head else None
