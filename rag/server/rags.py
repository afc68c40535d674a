"""The `RAG` objects a server shares: the one it was started with, plus one per other collection, chat model or
strictness a request asks for (made once, kept until the server stops)."""

from __future__ import annotations

import threading

from rag.api import RAG

MAX_RAGS = 32
"""Distinct (collection, chat model, strict) combinations one server keeps; more are refused (422)."""


class RagPool:
    """Thread-safe lookup of shared `RAG` objects by (collection, chat model, strict)."""

    def __init__(self, base: RAG) -> None:
        self.base = base
        s = base.settings
        self._rags: dict[tuple[str, str, bool], RAG] = {(s.collection, s.chat_model, s.strict): base}
        self._lock = threading.Lock()

    def get(self, collection: str | None = None, chat_model: str | None = None, strict: bool | None = None) -> RAG:
        s = self.base.settings
        key = (collection or s.collection, chat_model or s.chat_model, s.strict if strict is None else strict)
        with self._lock:
            rag = self._rags.get(key)
            if rag is None:
                if len(self._rags) >= MAX_RAGS:
                    raise ValueError(
                        f"This server already keeps {MAX_RAGS} collection/chat-model combinations; "
                        "use one of those, or restart it."
                    )
                rag = self._rags[key] = RAG(settings=s, collection=key[0], chat_model=key[1], strict=key[2])
            return rag

    def collections(self) -> list[str]:
        """Names of the collections in the base index."""
        return [c.name for c in self.base.status().collections]

    def close(self) -> None:
        """Close every `RAG` this pool made (the base one stays the caller's)."""
        with self._lock:
            made = [r for r in self._rags.values() if r is not self.base]
            self._rags = {k: r for k, r in self._rags.items() if r is self.base}
        for rag in made:
            rag.close()


__all__ = ["MAX_RAGS", "RagPool"]
