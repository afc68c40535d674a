"""Which build of an embedded collection readers use: a one-line pointer file, switched atomically by a rebuild.

A collection never rebuilt has no pointer and keeps the plain names (`<collection>.catalog.sqlite`, Chroma
collection `<collection>`). A rebuild writes a new build beside the live one under a fresh tag
(`<collection>@<tag>.catalog.sqlite`, `<collection>@<tag>.bm25.*`, Chroma collection `<collection>.<tag>`), then
replaces `<collection>.current` (the tag) in one `os.replace`, then deletes the old build. Readers resolve the pointer
when they open, before each question and after its retrieval (a question the switch caught is retrieved again from
the new build), so a question is answered from one whole build, never a half-built or half-deleted one. Files
of a build that is not the current one are left over from an interrupted rebuild or cleanup; the next write run
deletes them (`stale_builds`).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

POINTER_SUFFIX = ".current"
TAG_SEPARATOR = "@"
"""Not allowed in collection names, so a build's files never look like another collection's."""
_TAG = re.compile(r"b\d{1,24}")


def pointer_path(home: Path, collection: str) -> Path:
    """The pointer file of `collection` in `home`."""
    return home / f"{collection}{POINTER_SUFFIX}"


def current_tag(home: Path, collection: str) -> str | None:
    """The tag of the build readers use (None: the collection was never rebuilt, or the pointer is unreadable)."""
    try:
        tag = pointer_path(home, collection).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return tag if _TAG.fullmatch(tag) else None


def new_tag() -> str:
    """A fresh build tag (time-ordered)."""
    return f"b{time.time_ns()}"


def file_stem(collection: str, tag: str | None) -> str:
    """Stem of a build's catalog and BM25 files.

    >>> file_stem("notes", None), file_stem("notes", "b17")
    ('notes', 'notes@b17')
    """
    return collection if tag is None else f"{collection}{TAG_SEPARATOR}{tag}"


def physical_name(collection: str, tag: str | None) -> str:
    """The Chroma collection of a build (the same scheme as a server rebuild's).

    >>> physical_name("notes", None), physical_name("notes", "b17")
    ('notes', 'notes.b17')
    """
    return collection if tag is None else f"{collection}.{tag}"


def switch(home: Path, collection: str, tag: str) -> None:
    """Point readers at build `tag` (atomic: a reader sees the old pointer or the new one, never a torn file)."""
    path = pointer_path(home, collection)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(tag + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError):  # the rename is durable once the folder is synced
        fd = os.open(home, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def build_files(home: Path, collection: str, tag: str | None) -> list[Path]:
    """Files on disk of one build: its catalog (with SQLite's -wal/-shm) and its BM25 side index."""
    stem = file_stem(collection, tag)
    found = [*home.glob(f"{glob_escape(stem)}.catalog.sqlite*"), *home.glob(f"{glob_escape(stem)}.bm25.*")]
    return sorted(found)


def stale_builds(home: Path, collection: str) -> list[str | None]:
    """Tags of builds with files on disk that readers no longer use (None: the plain, never-rebuilt names)."""
    if not home.is_dir():
        return []
    current = current_tag(home, collection)
    prefix = f"{collection}{TAG_SEPARATOR}"
    tags: set[str | None] = set()
    for path in home.iterdir():
        name = path.name
        if name.startswith(prefix):
            tag = name[len(prefix) :].split(".", 1)[0]
            if _TAG.fullmatch(tag):
                tags.add(tag)
        elif current is not None and name.startswith((f"{collection}.catalog.sqlite", f"{collection}.bm25.")):
            tags.add(None)
    tags.discard(current)
    return sorted(tags, key=lambda t: t or "")


def delete_files(home: Path, collection: str, tag: str | None) -> None:
    """Delete a build's files (a reader still holding one open keeps reading it until it moves on)."""
    for path in build_files(home, collection, tag):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def glob_escape(text: str) -> str:
    """`text` with glob metacharacters escaped (collection names have none today; cheap insurance)."""
    return re.sub(r"([*?\[])", r"[\1]", text)


__all__ = [
    "POINTER_SUFFIX",
    "build_files",
    "current_tag",
    "delete_files",
    "file_stem",
    "new_tag",
    "physical_name",
    "pointer_path",
    "stale_builds",
    "switch",
]
