"""Open a discovered file for reading without trusting that it is still what discovery saw.

Between discovery and extraction a file can be swapped for a FIFO (a plain `open` would block forever), a device, or
a symlink leading outside the indexed folder. `read_inside` checks at open time, on the descriptor itself, that the
file is regular and inside the root before reading a byte (see `open_inside`), and never blocks on the open.
"""

from __future__ import annotations

import errno
import functools
import os
import stat

from ingest.errors import IngestError

NOT_REGULAR_REASON = "not a regular file any more (replaced after discovery?)"
OUTSIDE_REASON = "leads outside the indexed folder (replaced by a symlink after discovery?)"
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_BLOCK = 1 << 20


_O_PATH = getattr(os, "O_PATH", 0)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@functools.lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    return os.path.realpath(root)


def _proc_path(fd: int) -> str | None:
    """The kernel's path of an open descriptor (Linux /proc), or None where the platform cannot say."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def _cannot_read(source: str, exc: OSError) -> IngestError:
    return IngestError(source, f"cannot read: {exc.strerror or exc}")


def open_inside(path: str | os.PathLike[str], root: str | os.PathLike[str], source: str) -> int:
    """A read-only descriptor of the regular file at `path`, which must (still) lie inside `root`.

    On Linux the path is first opened with O_PATH (which reads nothing and cannot block); the kernel's resolved path
    of that descriptor must be inside `root` and name a regular file, and only then is it reopened for reading. A
    symlink inside the root still works; one that leads out, or a FIFO or device swapped in, is never opened for I/O.

    Raises:
        IngestError: the file is gone, unreadable, not a regular file, or outside `root`; `.reason` says which.
    """
    real_root = _real_root(os.fspath(root))
    if _O_PATH:
        try:
            handle = os.open(path, _O_PATH | os.O_CLOEXEC)
        except OSError as exc:
            raise _cannot_read(source, exc) from exc
        try:
            where = _proc_path(handle)
            if where is not None:
                if not _inside(where, real_root):
                    raise IngestError(source, OUTSIDE_REASON)
                if not stat.S_ISREG(os.fstat(handle).st_mode):
                    raise IngestError(source, NOT_REGULAR_REASON)
                try:
                    fd = os.open(f"/proc/self/fd/{handle}", _FLAGS & ~getattr(os, "O_NOFOLLOW", 0))
                except OSError as exc:
                    raise _cannot_read(source, exc) from exc
                os.set_blocking(fd, True)
                return fd
        finally:
            os.close(handle)
    return _open_portable(path, real_root, source)


def _open_portable(path: str | os.PathLike[str], real_root: str, source: str) -> int:
    """Without O_PATH or /proc: resolve, contain, open the resolved path with O_NOFOLLOW, check it is the same file."""
    try:
        real = os.path.realpath(path, strict=True)
    except OSError as exc:
        raise _cannot_read(source, exc) from exc
    if not _inside(real, real_root):
        raise IngestError(source, OUTSIDE_REASON)
    try:
        fd = os.open(real, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component became a symlink after the resolve above
            raise IngestError(source, OUTSIDE_REASON) from exc
        raise _cannot_read(source, exc) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IngestError(source, NOT_REGULAR_REASON)
        try:
            again = os.stat(real, follow_symlinks=False)
        except OSError as exc:
            raise IngestError(source, OUTSIDE_REASON) from exc
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
            raise IngestError(source, OUTSIDE_REASON)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_inside(
    path: str | os.PathLike[str], root: str | os.PathLike[str], source: str, limit: int | None = None
) -> bytes:
    """The bytes of the regular file at `path` inside `root` (at most `limit` bytes when given); see `open_inside`."""
    fd = open_inside(path, root, source)
    parts: list[bytes] = []
    left = limit
    try:
        while left is None or left > 0:
            try:
                block = os.read(fd, _BLOCK if left is None else min(_BLOCK, left))
            except OSError as exc:
                raise IngestError(source, f"cannot read: {exc.strerror or exc}") from exc
            if not block:
                break
            parts.append(block)
            if left is not None:
                left -= len(block)
    finally:
        os.close(fd)
    return b"".join(parts)
