"""Errors as JSON: the same message and type name as `rag ... --json` prints, an HTTP status per error class, and the
CLI's exit code; the Ollama and OpenAI faces wrap the same message in their own error shapes."""

from __future__ import annotations

from typing import Any

from rag.errors import (
    IndexLocked,
    IngestError,
    ManifestMismatch,
    ModelNotFound,
    ModelOutputError,
    OllamaBusy,
    OllamaError,
    OllamaTimeout,
    OllamaUnreachable,
    RagError,
    StoreError,
)
from rag.vocab import EXIT_FATAL

_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (IndexLocked, 409),
    (ManifestMismatch, 409),
    (IngestError, 400),
    (ModelNotFound, 404),
    (OllamaTimeout, 504),
    (OllamaBusy, 503),
    (OllamaUnreachable, 502),
    (ModelOutputError, 502),
    (OllamaError, 502),
    (StoreError, 503),
    (ValueError, 422),
    (RagError, 500),
)


def http_status(error: BaseException) -> int:
    """The HTTP status for an error (500 for anything unexpected).

    >>> http_status(IngestError("a.pdf", "unreadable")), http_status(StoreError("no index")), http_status(ValueError())
    (400, 503, 422)
    """
    return next((status for kind, status in _STATUS if isinstance(error, kind)), 500)


def error_body(error: BaseException) -> dict[str, Any]:
    """The REST body: `rag --json`'s `{"error": type, "message": text}` plus the CLI exit code."""
    return {"error": _kind(error), "message": str(error), "exit_code": EXIT_FATAL}


def ollama_error_body(error: BaseException) -> dict[str, Any]:
    """Ollama's shape: `{"error": text}` (what Ollama clients raise as their ResponseError)."""
    return {"error": str(error)}


def openai_error_body(error: BaseException, status: int) -> dict[str, Any]:
    """OpenAI's shape: `{"error": {"message", "type", "code"}}`."""
    return {"error": {"message": str(error), "type": _kind(error), "code": status, "param": None}}


def _kind(error: BaseException) -> str:
    """The error's type name (an HTTP error carries its own in `kind`)."""
    return str(getattr(error, "kind", type(error).__name__))


__all__ = ["error_body", "http_status", "ollama_error_body", "openai_error_body"]
