"""Embedders: text -> float32 unit vectors, through Ollama (/api/embed) or the built-in all-minilm.

    with open_embedder("all-minilm") as embedder:        # "auto": Ollama when it serves the model, else built in
        vectors = embedder.embed_documents(["chunk one", "chunk two"])   # None for a text over the context
        query = embedder.embed_query("what is in chunk one?")

Both backends record the same model name, so an index built through one can be queried through the other.
`base` holds the interface, prefixes and model names; `builtin` and `ollama` the two backends; `minilm` the ONNX model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.embed.base import (
    BACKENDS,
    BUILTIN_MODEL,
    BUILTIN_TAGS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_IN_FLIGHT,
    PREFIX_SCHEMES,
    Embedder,
    EmbedderInfo,
    PrefixScheme,
    base_name,
    is_builtin,
    model_name,
    prefix_scheme_for,
)
from rag.embed.builtin import BuiltinEmbedder
from rag.embed.ollama import OllamaEmbedder
from rag.errors import ModelNotFound, OllamaUnreachable
from rag.ollama.models import require_model

if TYPE_CHECKING:
    from rag.ollama import Client

NEEDS_OLLAMA_REASON = "embedding model {model!r} is served only by Ollama; the built-in embedder serves {builtin}"


def open_embedder(
    model: str,
    backend: str = "auto",
    client: Client | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    in_flight: int = DEFAULT_IN_FLIGHT,
    int8: bool = True,
) -> Embedder:
    """The embedder for `model` through `backend`.

    "ollama": the model on the Ollama server; "builtin": rag.embed.minilm (all-minilm only); "auto": Ollama when it is
    reachable and has the model, else the built-in embedder when it serves the model.

    Args:
        client: an Ollama client to share (default: a new one for OLLAMA_HOST, closed with the embedder).
        batch_size / in_flight: for the Ollama backend (see OllamaEmbedder).
        int8: for the built-in embedder: int8 arithmetic, else float32 (see BuiltinEmbedder).

    Raises:
        OllamaUnreachable: Ollama is down and the model is not built in (says `ollama serve`).
        ModelNotFound: Ollama lacks the model and it is not built in (says `ollama pull NAME`).
        EmbedderError: "builtin" with a model that is not built in, or the built-in files are missing/altered.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    builtin = is_builtin(model)
    if backend == "builtin":
        return BuiltinEmbedder(model, int8=int8)
    owns = client is None
    if client is None:
        from rag.ollama import Client

        client = Client()
    try:
        if backend == "auto" and not client.is_reachable():
            if not builtin:
                raise OllamaUnreachable(
                    client.host, reason=NEEDS_OLLAMA_REASON.format(model=model, builtin=BUILTIN_MODEL)
                )
            return _close_then(client, owns, BuiltinEmbedder(model, int8=int8))
        try:
            entry = require_model(client.tags(), model)
        except ModelNotFound:
            if backend == "ollama" or not builtin:
                raise
            return _close_then(client, owns, BuiltinEmbedder(model, int8=int8))
        return OllamaEmbedder(client, model, batch_size, in_flight, digest=entry.digest or None, owns_client=owns)
    except BaseException:
        if owns:
            client.close()
        raise


def _close_then(client: Client, owns: bool, embedder: Embedder) -> Embedder:
    if owns:
        client.close()
    return embedder


__all__ = [
    "BACKENDS",
    "BUILTIN_MODEL",
    "BUILTIN_TAGS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_IN_FLIGHT",
    "NEEDS_OLLAMA_REASON",
    "BuiltinEmbedder",
    "Embedder",
    "EmbedderInfo",
    "OllamaEmbedder",
    "PREFIX_SCHEMES",
    "PrefixScheme",
    "base_name",
    "is_builtin",
    "model_name",
    "open_embedder",
    "prefix_scheme_for",
]
