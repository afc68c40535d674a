"""Open a discovered file for reading without trusting that it is still what discovery saw.

Between discovery and extraction a file can be swapped for a FIFO (a plain `open` would block forever), a device, or
a symlink leading outside the indexed folder. `read_inside` re-resolves the path at open time, opens it with
`O_NONBLOCK | O_NOFOLLOW`, checks with `fstat` that it is a regular file, and checks that the file actually opened
is inside the root before reading a byte.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ingest.errors import IngestError

NOT_REGULAR_REASON = "not a regular file any more (replaced after discovery?)"
OUTSIDE_REASON = "leads outside the indexed folder (replaced by a symlink after discovery?)"
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_BLOCK = 1 << 20


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _opened_path(fd: int) -> Path | None:
    """The real path of an open descriptor (Linux /proc), or None where the platform cannot say."""
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return None


def open_inside(path: str | os.PathLike[str], root: str | os.PathLike[str], source: str) -> int:
    """A read-only descriptor of the regular file at `path`, which must (still) lie inside `root`.

    Raises:
        IngestError: the file is gone, unreadable, not a regular file, or outside `root`; `.reason` says which.
    """
    real_root = Path(os.path.realpath(root))
    try:
        real = Path(os.path.realpath(path, strict=True))
    except OSError as exc:
        raise IngestError(source, f"cannot read: {exc.strerror or exc}") from exc
    if not _inside(real, real_root):
        raise IngestError(source, OUTSIDE_REASON)
    try:
        fd = os.open(real, _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # the last component became a symlink after the resolve above
            raise IngestError(source, OUTSIDE_REASON) from exc
        raise IngestError(source, f"cannot read: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IngestError(source, NOT_REGULAR_REASON)
        opened = _opened_path(fd)
        if opened is not None:
            if not _inside(opened, real_root):
                raise IngestError(source, OUTSIDE_REASON)
        else:  # no /proc: the path must still name the file we hold
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


def read_inside(path: str | os.PathLike[str], root: str | os.PathLike[str], source: str,
                limit: int | None = None) -> bytes:
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
