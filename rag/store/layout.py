"""Where an index's files live on disk: one function that every reader and writer asks.

<index_dir>/
    chroma/                          embedded Chroma data (PersistentClient)
    <collection>.catalog.sqlite      the catalog: manifest, files, chunks (truth for "file is indexed")
    <collection>.bm25.*              BM25 side index (rag.retrieve.bm25), keyed by the catalog generation
    <collection>.current             after a rebuild: the build readers use (rag.store.generation); the catalog and
                                     BM25 files are then <collection>@<tag>.*, the Chroma collection <collection>.<tag>
    write.lock                       the writer lock (flock), holds the writer's pid
    servers/<host>_<port>/           the same catalog/BM25/lock files for a Chroma server (--chroma-url)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rag._result import Result
from rag.errors import StoreError
from rag.store import generation

CATALOG_SUFFIX = ".catalog.sqlite"
BAD_NAME_MESSAGE = (
    "Collection name {name!r} is not valid: use 3-512 letters, digits, '.', '_' or '-', starting and ending with a "
    "letter or digit, without '..' (e.g. 'default', 'work-notes')."
)
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{1,510})[A-Za-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
LOCK_NAME = "write.lock"
CHROMA_DIR = "chroma"
SERVERS_DIR = "servers"


@dataclass(frozen=True)
class IndexLayout(Result):
    """Paths of one collection's files. `home` is index_dir, or its servers/<host>_<port>/ folder in server mode."""

    index_dir: Path
    """The index folder the user chose (--index / $RAG_INDEX / default)."""
    home: Path
    """Folder holding the catalog, BM25 files and lock for this store."""
    chroma_dir: Path | None
    """Embedded Chroma data folder; None in server mode."""
    chroma_url: str | None
    collection: str
    catalog: Path
    bm25: Path
    """Path stem for rag.retrieve.bm25.load_or_build (it adds its own suffixes)."""
    lock: Path
    physical: str = ""
    """The embedded Chroma collection of this build (server mode: the registry's pointer decides; "" here)."""
    tag: str | None = None
    """The embedded build these paths are of (None: the never-rebuilt names; see rag.store.generation)."""


def chroma_base_url(chroma_url: str) -> str:
    """The Chroma server URL with a scheme (http:// when none was given)."""
    return chroma_url if "://" in chroma_url else f"http://{chroma_url}"


def server_key(chroma_url: str) -> str:
    """Folder name for a Chroma server URL.

    >>> server_key("http://127.0.0.1:8000")
    '127.0.0.1_8000'
    >>> server_key("https://chroma.example.com")
    'chroma.example.com_443'
    """
    parts = urlsplit(chroma_base_url(chroma_url))
    port = parts.port or (443 if parts.scheme == "https" else 8000)
    host = re.sub(r"[^A-Za-z0-9.-]", "_", parts.hostname or "localhost")
    return f"{host}_{port}"


def valid_name(name: str) -> bool:
    """True for a collection name Chroma accepts, which is also a safe file name (no path separator, no '..').

    >>> [valid_name(n) for n in ("default", "my_notes.v2", "ab", "../../x", "a..b", "-x-", "10.0.0.1")]
    [True, True, False, False, False, False, False]
    """
    return bool(isinstance(name, str) and _NAME.fullmatch(name) and ".." not in name and not _IPV4.fullmatch(name))


def check_name(name: str) -> str:
    """`name` if it is a valid collection name, else StoreError saying the rule (before anything is written)."""
    if not valid_name(name):
        raise StoreError(BAD_NAME_MESSAGE.format(name=name))
    return name


_CURRENT = object()


def layout(index_dir: Path, chroma_url: str | None, collection: str, tag: object = _CURRENT) -> IndexLayout:
    """The paths for `collection` in `index_dir` (embedded store) or for the server at `chroma_url`.

    Embedded, the paths are those of the build readers use now (its pointer file, read here), or of build `tag` when
    given (a rebuild writing its new build). Raises StoreError for an invalid collection name, so no reader or
    writer ever touches a path built from it."""
    check_name(collection)
    index_dir = Path(index_dir)
    home = index_dir / SERVERS_DIR / server_key(chroma_url) if chroma_url else index_dir
    if chroma_url:
        build: str | None = None
    else:
        build = generation.current_tag(home, collection) if tag is _CURRENT else tag  # type: ignore[assignment]
    stem = generation.file_stem(collection, build)
    return IndexLayout(
        index_dir=index_dir,
        home=home,
        chroma_dir=None if chroma_url else index_dir / CHROMA_DIR,
        chroma_url=chroma_url,
        collection=collection,
        catalog=home / f"{stem}{CATALOG_SUFFIX}",
        bm25=home / f"{stem}.bm25",
        lock=home / LOCK_NAME,
        physical="" if chroma_url else generation.physical_name(collection, build),
        tag=build,
    )


def catalog_names(home: Path) -> list[str]:
    """Collections that have a catalog in `home`, sorted."""
    if not home.is_dir():
        return []
    names = {p.name[: -len(CATALOG_SUFFIX)] for p in home.glob(f"*{CATALOG_SUFFIX}")}
    names |= {p.name[: -len(generation.POINTER_SUFFIX)] for p in home.glob(f"*{generation.POINTER_SUFFIX}")}
    return sorted(n for n in names if valid_name(n))  # a stray file (or a build's @-named file) is no collection
