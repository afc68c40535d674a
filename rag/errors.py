"""The exceptions ollama-rag raises.

    RagError                      root: anything the user can fix
    ├── OllamaError               the Ollama server said no (.status_code, .error)
    │   ├── OllamaUnreachable     connection refused, DNS, TLS, timeouts
    │   │   └── OllamaTimeout     connected, but no answer within the timeout (a model may be loading)
    │   ├── ModelNotFound         a 404 whose body names a missing model
    │   ├── ContextLengthExceeded input longer than the model's context
    │   └── OllamaBusy            503: server overloaded
    ├── ModelOutputError          the chat model's reply is not valid for the answer schema
    ├── StoreError                Chroma, the catalog or the manifest
    │   ├── ManifestMismatch      index built with another model, dimension or chunker
    │   └── IndexLocked           another writer holds the index lock
    ├── EmbedderError             the built-in embedder cannot load or run, or a vector is NaN/inf/zero
    ├── ConfigError               a setting, config file entry or environment variable has an invalid value
    └── IngestError               a file or folder cannot be read (.path, .reason)

Programmer mistakes raise ValueError/TypeError, never RagError.
"""

from __future__ import annotations

from ingest.errors import IngestError as _IngestBase

SERVE_FIX = "Start it with `ollama serve`, or set OLLAMA_HOST to where it runs."
PULL_FIX = "Run `ollama pull {model}` (or `rag pull {model}`)."
CONNECTION_ERROR_MESSAGE = "Cannot reach Ollama at {url}. " + SERVE_FIX
TIMEOUT_MESSAGE = (
    "Ollama at {url} did not answer within {timeout:g} s. A model may still be loading or the machine is busy: "
    "retry, or allow a longer timeout (--timeout SECONDS, or RAG_OLLAMA_TIMEOUT)."
)
MODEL_NOT_FOUND_MESSAGE = "Model {model!r} is not available on the Ollama server. " + PULL_FIX
NOT_OLLAMA_MESSAGE = (
    "Something answers at {url} but it is not Ollama ({detail}). Point OLLAMA_HOST (or --ollama-host) at the Ollama "
    "server, e.g. http://127.0.0.1:11434."
)
# Chat-model names (rag.ollama.names builds the lists; the CLI raises these before asking).
CHAT_MODEL_MISSING_MESSAGE = "Chat model {model!r} is not installed in Ollama at {host}."
DID_YOU_MEAN = "Did you mean {names}?"
INSTALLED_CHAT_MODELS = "Installed chat models: {names}."
NO_CHAT_MODELS = "No chat model is installed."
CHAT_MODEL_FIX = "Use `--chat-model NAME` (or RAG_CHAT_MODEL, or `rag config set chat_model NAME`)"
OR_NONE = "or `--chat-model none` for extractive answers."
NOT_A_CHAT_MODEL_MESSAGE = "{model!r} is an embedding model: it cannot write answers."


class RagError(Exception):
    """Root of every error a user can act on."""


class OllamaError(RagError):
    """The Ollama server answered with an error status or an error line."""

    def __init__(self, message: str, *, status_code: int | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error if error is not None else message


class OllamaUnreachable(OllamaError):
    """No connection to the server: refused, DNS, TLS, or a timeout."""

    def __init__(self, url: str, *, reason: str = "") -> None:
        message = CONNECTION_ERROR_MESSAGE.format(url=url)
        if reason:
            message += f" ({reason})"
        super().__init__(message, status_code=None, error=reason or message)
        self.url = url


class OllamaTimeout(OllamaUnreachable):
    """Connected, but the server sent nothing within the read timeout."""

    def __init__(self, url: str, *, timeout: float) -> None:
        super().__init__(url, reason=f"timed out after {timeout:g} s")
        self.args = (TIMEOUT_MESSAGE.format(url=url, timeout=timeout),)
        self.timeout = timeout


class ModelNotFound(OllamaError):
    """A 404 whose body says the model is missing."""

    def __init__(self, model: str, *, status_code: int | None = 404, error: str | None = None) -> None:
        super().__init__(MODEL_NOT_FOUND_MESSAGE.format(model=model), status_code=status_code, error=error)
        self.model = model


class ContextLengthExceeded(OllamaError):
    """The input is longer than the model's context and truncation was off."""


class OllamaBusy(OllamaError):
    """503: the server is overloaded (OLLAMA_MAX_QUEUE reached); retry later."""


class ModelOutputError(RagError):
    """The chat model's reply is not JSON valid for the answer schema, even after a retry."""


class StoreError(RagError):
    """Chroma, the catalog or the index manifest failed or is inconsistent."""


class ManifestMismatch(StoreError):
    """The index was built with another embedding model, dimension or chunker."""


class IndexLocked(StoreError):
    """Another process holds the index's writer lock."""


class EmbedderError(RagError):
    """The built-in embedder cannot load its model or run, or an embedder returned an unusable vector."""


class ConfigError(RagError, ValueError):
    """A setting has an invalid value; the message names where it came from (flag, env var, config file) and the fix."""


class IngestError(RagError, _IngestBase):
    """A file or folder cannot be read; names the path and the reason."""


__all__ = [
    "CONNECTION_ERROR_MESSAGE",
    "ConfigError",
    "ContextLengthExceeded",
    "EmbedderError",
    "IndexLocked",
    "IngestError",
    "ManifestMismatch",
    "ModelNotFound",
    "ModelOutputError",
    "OllamaBusy",
    "OllamaError",
    "OllamaTimeout",
    "OllamaUnreachable",
    "RagError",
    "StoreError",
]
