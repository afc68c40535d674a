"""The extraction worker's entry point (`python -m ingest.worker`): tasks in on stdin, results out on stdout.

Started by `ingest.frames.WorkerProcess` from this package's own code, never from the caller's `__main__`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import sys

from ingest.frames import PAGE, READY, read_frame, write_frame
from ingest.pipeline import extract

WARM_IMPORTS = ("pypdf",)
"""Imported before `READY`, so a file's time limit never pays for them (the loaders import them lazily)."""


def _warm_up() -> None:
    for name in WARM_IMPORTS:
        with contextlib.suppress(ImportError):  # the loader reports a missing parser per file, with the fix
            importlib.import_module(name)


def main() -> None:
    """Worker loop: read tasks from stdin until EOF, write each result to stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it closes our stdin
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print() in a parser must not corrupt the frames
    stdin = sys.stdin.buffer
    _warm_up()
    write_frame(out, READY)
    while True:
        try:
            index, src, params, progress = read_frame(stdin)
        except EOFError:
            return
        on_progress = (lambda event: write_frame(out, (PAGE, event))) if progress else None
        write_frame(out, (index, *extract(src, params, on_progress)))


if __name__ == "__main__":
    main()


__all__ = ["WARM_IMPORTS", "main"]
