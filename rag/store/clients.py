"""One chromadb client per store location for the whole process, shared by every `ChromaStore`.

chromadb fails when several threads create a `PersistentClient` for one folder at once ("Could not connect to
tenant default_tenant"), and each client holds its own connections. `acquire` creates the client once under a lock
and counts its users; `release` closes it with the last one.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.store.chroma_errors import SERVER_UNREACHABLE, StoreUnreachable, chroma_errors
from rag.store.layout import chroma_base_url

_lock = threading.Lock()
_clients: dict[str, tuple[Any, int]] = {}


def client_key(index_dir: Path, chroma_url: str | None) -> str:
    """The identity of a store location: the server URL, or the resolved embedded data folder."""
    if chroma_url:
        return chroma_base_url(chroma_url).rstrip("/")
    return str((Path(index_dir) / "chroma").resolve())


def _settings() -> Any:
    import chromadb

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def _create(index_dir: Path, chroma_url: str | None) -> Any:
    import chromadb

    if not chroma_url:
        path = Path(index_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        with chroma_errors("open the embedded store", name="", where=path):
            return chromadb.PersistentClient(path=str(path), settings=_settings())
    parts = urlsplit(chroma_base_url(chroma_url))
    ssl = parts.scheme == "https"
    try:
        client = chromadb.HttpClient(
            host=parts.hostname or "localhost", port=parts.port or (443 if ssl else 8000), ssl=ssl,
            settings=_settings(),
        )
        client.heartbeat()
    except Exception as exc:  # chromadb raises a mix of httpx, ValueError and its own errors here
        reason = str(exc) or type(exc).__name__
        raise StoreUnreachable(SERVER_UNREACHABLE.format(url=chroma_url, reason=reason)) from exc
    return client


def acquire(index_dir: Path, chroma_url: str | None) -> tuple[str, Any]:
    """(key, client) for this location, creating the client on first use; pair every call with `release(key)`."""
    key = client_key(index_dir, chroma_url)
    with _lock:
        client, users = _clients.get(key, (None, 0))
        if client is None:
            client = _create(index_dir, chroma_url)
        _clients[key] = (client, users + 1)
    return key, client


def release(key: str) -> None:
    """Drop one use of the client; the last one closes it."""
    with _lock:
        client, users = _clients.get(key, (None, 0))
        if client is None:
            return
        if users > 1:
            _clients[key] = (client, users - 1)
            return
        del _clients[key]
    close = getattr(client, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):  # closing must never mask the caller's own error
            close()


def users(key: str) -> int:
    """How many holders the client of `key` has (0: none open)."""
    with _lock:
        return _clients.get(key, (None, 0))[1]


__all__ = ["acquire", "client_key", "release", "users"]
