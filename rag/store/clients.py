"""One chromadb client per location for the whole process, created under a lock.

chromadb's client construction is not thread-safe (its shared-system cache races: "'RustBindingsAPI' object has no
attribute 'bindings'", `KeyError` on the path, "Could not connect to tenant"), so every `ChromaStore` asks here.
Clients stay open for the life of the process; chromadb keeps one system per path anyway.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

_LOCK = threading.Lock()
_CLIENTS: dict[Hashable, Any] = {}


def shared_client(key: Hashable, make: Callable[[], Any]) -> Any:
    """The process's client for `key` (e.g. a data folder or a server URL), made by `make()` on first use.

    A `make` that raises leaves nothing cached, so the next call tries again."""
    with _LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = make()
        return client


__all__ = ["shared_client"]
