"""Extraction worker subprocesses as the parent sees them: start, send tasks, read results without blocking, kill.

A worker is `python -c "<put this tree first on sys.path>; ingest.worker.main()"` (also `python -m ingest.worker`)
talking over its stdin/stdout pipes in length-prefixed pickle frames: `(index, SourceFile, ExtractParams, progress)`
in, `(index, FileReport, chunks)` out, and before it, when `progress` is true, `(PAGE, PageProgress)` frames from
inside the file (pages read, pages OCR'd). Because nothing is forked or re-imported, scripts without a
`if __name__ == "__main__":` guard, `python -c`, stdin, Jupyter and web-server threads all get workers.
The worker sends `READY` once its imports are done, so start-up time does not count against a file's time limit.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

READY = "ready"
"""The first frame a worker sends, after importing the extraction code."""
PAGE = "page"
"""Tag of a progress frame `(PAGE, PageProgress)`, sent while a file is extracted (task indexes are ints)."""
START_TIMEOUT_S = 120.0
"""How long a worker may take to start (import pypdf and friends) before it is killed; generous for busy machines."""
_HEADER = struct.Struct("!Q")
_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOT = f"import sys; sys.path.insert(0, {_ROOT!r}); from ingest.worker import main; main()"


def write_frame(out: BinaryIO, obj: object) -> None:
    """Send one object: an 8-byte big-endian length, then its pickle."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def read_frame(stream: BinaryIO) -> Any:
    """Read one object written by `write_frame` (blocking); EOFError at a clean or torn end."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class FrameBuffer:
    """Bytes read without blocking, cut into whole frames.

    >>> import io; out = io.BytesIO(); write_frame(out, ("a", 1)); raw = out.getvalue()
    >>> buf = FrameBuffer(); buf.feed(raw[:5]); buf.pop()
    >>> buf.feed(raw[5:]); buf.pop()
    ('a', 1)
    """

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, data: bytes) -> None:
        self._data += data

    def pop(self) -> Any:
        """The next whole frame's object, or None when it has not fully arrived."""
        if len(self._data) < _HEADER.size:
            return None
        (size,) = _HEADER.unpack_from(self._data)
        end = _HEADER.size + size
        if len(self._data) < end:
            return None
        obj = pickle.loads(bytes(self._data[_HEADER.size : end]))
        del self._data[:end]
        return obj


class WorkerProcess:
    """One worker subprocess: the parent writes tasks to its stdin and reads its stdout without blocking."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin = self.process.stdin
        self._fd = self.process.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._buffer = FrameBuffer()
        self.ready = False
        self.eof = False

    def fileno(self) -> int:
        return self._fd

    def send(self, task: object) -> bool:
        """Queue a task; False when the worker is already gone (its pipe is closed)."""
        try:
            write_frame(self._stdin, task)  # type: ignore[arg-type]
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def receive(self) -> list[Any]:
        """Whatever whole frames have arrived (call when the pipe is readable); sets `eof` when the worker is gone."""
        while True:
            try:
                data = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:
                self.eof = True
                break
            self._buffer.feed(data)
        frames = []
        while (obj := self._buffer.pop()) is not None:
            frames.append(obj)
        return frames

    def exit_code(self) -> int | None:
        try:
            return self.process.wait(5)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Kill the process now and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self._close_pipes()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the worker to exit (EOF on its stdin); kill it if it does not within `timeout` seconds."""
        self._close_pipes()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass


__all__ = ["PAGE", "READY", "START_TIMEOUT_S", "FrameBuffer", "WorkerProcess", "read_frame", "write_frame"]
