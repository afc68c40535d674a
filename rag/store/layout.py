"""Where an index's files live on disk: one function that every reader and writer asks.

    <index_dir>/
        chroma/                          embedded Chroma data (PersistentClient)
        <collection>.catalog.sqlite      the catalog: manifest, files, chunks (truth for "file is indexed")
        <collection>.bm25.*              BM25 side index (rag.retrieve.bm25), keyed by the catalog generation
        write.lock                       the writer lock (flock), holds the writer's pid
        servers/<host>_<port>/           the same catalog/BM25/lock files for a Chroma server (--chroma-url)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rag._result import Result

CATALOG_SUFFIX = ".catalog.sqlite"
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


def layout(index_dir: Path, chroma_url: str | None, collection: str) -> IndexLayout:
    """The paths for `collection` in `index_dir` (embedded store) or for the server at `chroma_url`."""
    index_dir = Path(index_dir)
    home = index_dir / SERVERS_DIR / server_key(chroma_url) if chroma_url else index_dir
    return IndexLayout(
        index_dir=index_dir,
        home=home,
        chroma_dir=None if chroma_url else index_dir / CHROMA_DIR,
        chroma_url=chroma_url,
        collection=collection,
        catalog=home / f"{collection}{CATALOG_SUFFIX}",
        bm25=home / f"{collection}.bm25",
        lock=home / LOCK_NAME,
    )


def catalog_names(home: Path) -> list[str]:
    """Collections that have a catalog in `home`, sorted."""
    if not home.is_dir():
        return []
    return sorted(p.name[: -len(CATALOG_SUFFIX)] for p in home.glob(f"*{CATALOG_SUFFIX}"))
