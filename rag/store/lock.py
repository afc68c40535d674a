"""The writer lock: one `rag index`/`rag remove` at a time per index folder (readers never take it).

`fcntl.flock` on `<home>/write.lock`; the kernel drops it when the holder exits, even on SIGKILL, so a crashed
writer never leaves a stale lock. The holder writes its pid into the file so a waiter can say whom it waits for.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from rag.errors import IndexLocked, StoreError

LOCKED_MESSAGE = (
    "Another rag index (pid {pid}) is writing to {path}. Wait for it to finish, or run again without --no-wait "
    "to queue behind it."
)
WAITING_MESSAGE = "waiting for another rag index (pid {pid}) to finish writing {path} ..."


class WriterLock:
    """Exclusive writer lock on an index folder.

    Args:
        path: the lock file (`IndexLayout.lock`); its folder is created.
        no_wait: raise `IndexLocked` at once instead of waiting.
        on_wait: called with a message once, before blocking, when another writer holds the lock.

    Use as a context manager; `acquire()` raises `IndexLocked` under `no_wait`.
    """

    def __init__(self, path: Path, *, no_wait: bool = False, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.no_wait = no_wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def holder_pid(self) -> int | None:
        """The pid written by the current (or last) holder, if readable."""
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def acquire(self) -> None:
        """Take the lock, waiting (after calling on_wait) unless no_wait."""
        if self._fd is not None:
            raise RuntimeError("WriterLock is not re-entrant")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # read-only, not ours, or full: say so instead of a raw OSError
            from rag.store.catalog import write_refused_message

            raise StoreError(write_refused_message(self.path.parent, exc)) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = self.holder_pid() or "unknown"
                if self.no_wait:
                    raise IndexLocked(LOCKED_MESSAGE.format(pid=pid, path=self.path.parent)) from None
                if self.on_wait is not None:
                    self.on_wait(WAITING_MESSAGE.format(pid=pid, path=self.path.parent))
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays: deleting it would race with waiters)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
