"""One chromadb client per store location for the whole process, shared by every `ChromaStore`.

chromadb fails when several threads create a `PersistentClient` for one folder at once ("Could not connect to
tenant default_tenant"), and each client holds its own connections. `acquire` creates the client once under a lock
and counts its users; `release` closes it with the last one.

Every request to a Chroma server has a deadline (`timeout_s()`, $RAG_CHROMA_TIMEOUT): chromadb's own HTTP client
waits forever, so a server that accepts the connection and never answers would hang a reader. We probe the server
with our own bounded heartbeat before chromadb's client makes its first request, then give that client the same
deadline for every later call; a miss is a `StoreUnreachable` naming the URL.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.errors import StoreError
from rag.store.catalog import write_refused, write_refused_message
from rag.store.chroma_errors import SERVER_UNREACHABLE, StoreUnreachable, chroma_errors
from rag.store.layout import chroma_base_url

_lock = threading.Lock()
_clients: dict[str, tuple[Any, int]] = {}
_COPY = "#read-only-copy"
ENV_TIMEOUT = "RAG_CHROMA_TIMEOUT"
DEFAULT_TIMEOUT_S = 120.0
"""Seconds any one request to a Chroma server may take (a big write on a busy server takes seconds, not minutes)."""
FULL_BYTES = 1024 * 1024
"""A failed write with less free space than this is reported as "the disk is full"."""


def client_key(index_dir: Path, chroma_url: str | None) -> str:
    """The identity of a store location: the server URL, or the resolved embedded data folder."""
    if chroma_url:
        return chroma_base_url(chroma_url).rstrip("/")
    return str((Path(index_dir) / "chroma").resolve())


def _settings() -> Any:
    import chromadb

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def timeout_s() -> float:
    """The per-request deadline for Chroma servers: $RAG_CHROMA_TIMEOUT seconds, else DEFAULT_TIMEOUT_S."""
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise StoreError(f"${ENV_TIMEOUT} must be a number of seconds above 0, not {raw!r}. Fix or unset it.")
    return value


def _probe(chroma_url: str, base: str, timeout: float) -> None:
    """One heartbeat with a deadline, so a server that never answers fails here and not inside chromadb."""
    import httpx

    try:
        with httpx.Client(timeout=timeout) as http:
            http.get(f"{base.rstrip('/')}/api/v2/heartbeat")
    except httpx.HTTPError as exc:
        reason = f"no answer within {timeout:g} s (${ENV_TIMEOUT})" if isinstance(exc, httpx.TimeoutException) else ""
        reason = reason or str(exc) or type(exc).__name__
        raise StoreUnreachable(SERVER_UNREACHABLE.format(url=chroma_url, reason=reason)) from exc


def _bound(client: Any, timeout: float) -> None:
    """Give chromadb's HTTP session a deadline per request (it is created with none)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout)


def _create(index_dir: Path, chroma_url: str | None, *, reader: bool = False) -> tuple[Any, bool]:
    """(client, is a private read-only copy)."""
    import chromadb

    if not chroma_url:
        path = Path(index_dir) / "chroma"
        try:
            if not (reader and path.is_dir()):
                path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(path), settings=_settings()), False
        except Exception as exc:  # chromadb cannot open a folder it may not write, even to read
            if not write_refused(exc):
                with chroma_errors("open the embedded store", name="", where=path):
                    raise
            if not reader:
                raise StoreError(write_refused_message(Path(index_dir), exc)) from exc
        return chromadb.PersistentClient(path=str(_private_copy(path)), settings=_settings()), True
    base = chroma_base_url(chroma_url)
    parts = urlsplit(base)
    ssl = parts.scheme == "https"
    timeout = timeout_s()
    _probe(chroma_url, f"{parts.scheme}://{parts.netloc}", timeout)
    try:
        client = chromadb.HttpClient(
            host=parts.hostname or "localhost",
            port=parts.port or (443 if ssl else 8000),
            ssl=ssl,
            settings=_settings(),
        )
        _bound(client, timeout)
        client.heartbeat()
    except Exception as exc:  # chromadb raises a mix of httpx, ValueError and its own errors here
        reason = str(exc) or type(exc).__name__
        raise StoreUnreachable(SERVER_UNREACHABLE.format(url=chroma_url, reason=reason)) from exc
    return client, False


def _private_copy(path: Path) -> Path:
    """A copy of the Chroma folder in a temporary folder (removed at exit), for a reader of a folder Chroma will not
    open in place (read-only, not ours, or on a full disk): what embedded Chroma needs to read at all."""
    tmp = Path(tempfile.mkdtemp(prefix="rag-chroma-read-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    try:
        shutil.copytree(path, tmp / "chroma")
    except OSError as exc:
        raise StoreError(
            f"Chroma cannot read {path} where it is, nor copy it to {tmp} ({exc}). Give this user "
            "write access to the index folder, or free space in the temporary folder."
        ) from exc
    return tmp / "chroma"


def write_failure(folder: Path, exc: BaseException) -> StoreError | None:
    """The "read-only" or "disk full" error (with the fix) for a failed embedded write, when that is the cause."""
    try:
        full = shutil.disk_usage(folder).free < FULL_BYTES
    except OSError:
        full = False
    if full or write_refused(exc):
        cause = OSError(errno.ENOSPC, f"{exc} (free space under 1 MB)") if full else exc
        return StoreError(write_refused_message(folder, cause))
    return None


def acquire(index_dir: Path, chroma_url: str | None, *, reader: bool = False) -> tuple[str, Any]:
    """(key, client) for this location, creating the client on first use; pair every call with `release(key)`.

    A `reader` of an embedded folder Chroma cannot open in place (read-only, another user's, a full disk) gets a
    client on a private copy, kept under its own key so a writer never writes into it."""
    key = client_key(index_dir, chroma_url)
    with _lock:
        client, users = _clients.get(key, (None, 0))
        if client is None and reader and key + _COPY in _clients:
            key = key + _COPY
            client, users = _clients[key]
        if client is None:
            client, copied = _create(index_dir, chroma_url, reader=reader)
            key = key + _COPY if copied else key
            users = _clients.get(key, (None, 0))[1]
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


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "ENV_TIMEOUT",
    "FULL_BYTES",
    "acquire",
    "client_key",
    "release",
    "timeout_s",
    "users",
    "write_failure",
]
