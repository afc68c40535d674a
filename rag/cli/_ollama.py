"""The Ollama client the model commands use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.ollama import Client


def open_client(ollama_host: str | None) -> Client:
    """A client for `ollama_host` (None: OLLAMA_HOST, else the default)."""
    from rag.ollama import Client

    return Client(ollama_host)


__all__ = ["open_client"]
