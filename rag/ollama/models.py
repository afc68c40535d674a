"""Ollama model names: the canonical form and lookup among installed models."""

from __future__ import annotations

from collections.abc import Iterable

from rag.errors import ModelNotFound
from rag.ollama.types import ModelInfo


def normalize_model(name: str) -> str:
    """Ollama's canonical model name: lower case, with a tag.

    >>> normalize_model("nomic-embed-text")
    'nomic-embed-text:latest'
    >>> normalize_model("All-MiniLM:L6-v2")
    'all-minilm:l6-v2'
    """
    name = name.strip().lower()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def find_model(models: Iterable[ModelInfo], name: str) -> ModelInfo | None:
    """The /api/tags entry (ModelInfo) for `name`, ":latest" implied; None when it is not installed."""
    wanted = normalize_model(name)
    return next((m for m in models if normalize_model(m.name or m.model) == wanted), None)


def require_model(models: Iterable[ModelInfo], name: str) -> ModelInfo:
    """The /api/tags entry for `name` (":latest" implied). Raises ModelNotFound with the pull hint."""
    entry = find_model(models, name)
    if entry is None:
        raise ModelNotFound(name)
    return entry


__all__ = ["find_model", "normalize_model", "require_model"]
