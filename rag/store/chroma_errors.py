"""Every chromadb failure as a `StoreError` that says the fix: one context manager, `chroma_errors`.

`CollectionMissing` (the collection was never made, or a rebuild dropped it) and `StoreUnreachable` (the Chroma
server does not answer) are the two kinds callers act on: readers reopen on the first and fall back to keyword-only
retrieval on the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rag.errors import EmbedderError, StoreError

SERVER_UNREACHABLE = (
    "Cannot reach the Chroma server at {url} ({reason}). Start it with `chroma run --path DIR --host 127.0.0.1 "
    "--port PORT`, or drop --chroma-url to use the embedded store."
)
MISSING_COLLECTION = "No Chroma collection {name!r} at {where}. Run `rag index FOLDER` first."
FAILED = "Chroma failed to {what} ({where}): {reason}. Run `rag doctor` to check the store."


class CollectionMissing(StoreError):
    """The Chroma collection does not exist (never indexed, or replaced by a rebuild)."""


class StoreUnreachable(StoreError):
    """The Chroma server does not answer."""


class DenseUnavailable(StoreUnreachable, EmbedderError):
    """The server went away mid-question: the dense leg is skipped and retrieval answers from BM25 (with a warning)."""


def _is_connection_error(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, (httpx.TransportError, ConnectionError, TimeoutError)):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("could not connect", "connection refused", "failed to connect", "connecterror"))


_DROPPED = ("does not exist", "missing metadata segment")
"""What a Chroma error says when its collection is gone, or half-deleted (a rebuild dropped it during the call: the
server answers "Error getting collection: Missing field: [Missing metadata segment]")."""


@contextmanager
def chroma_errors(what: str, *, name: str, where: object, url: str | None = None) -> Iterator[None]:
    """Run a chromadb call, turning any exception into `StoreError` (or one of its kinds above), chained.

    Args:
        what: the action, for the message ("upsert into 'docs'").
        name: the collection name (for the missing-collection message).
        where: the Chroma server URL or data folder (for the messages).
        url: the server URL in server mode (connection failures then say how to start it).
    """
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        from chromadb.errors import NotFoundError

        reason = str(exc) or type(exc).__name__
        if isinstance(exc, NotFoundError) or any(sign in reason.lower() for sign in _DROPPED):
            raise CollectionMissing(MISSING_COLLECTION.format(name=name, where=where)) from exc
        if url is not None and _is_connection_error(exc):
            if type(exc).__name__.endswith("Timeout"):  # httpx's Read/Write/Connect/PoolTimeout
                reason = f"no answer within the deadline, $RAG_CHROMA_TIMEOUT seconds: {reason}"
            raise StoreUnreachable(SERVER_UNREACHABLE.format(url=url, reason=reason)) from exc
        raise StoreError(FAILED.format(what=what, where=where, reason=reason)) from exc


__all__ = [
    "CollectionMissing",
    "DenseUnavailable",
    "MISSING_COLLECTION",
    "SERVER_UNREACHABLE",
    "StoreUnreachable",
    "chroma_errors",
]
