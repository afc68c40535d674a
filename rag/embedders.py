"""Embedders: text -> float32 unit vectors, through Ollama (/api/embed) or the built-in all-minilm (rag.minilm).

    with open_embedder("all-minilm") as embedder:        # "auto": Ollama when it serves the model, else built in
        vectors = embedder.embed_documents(["chunk one", "chunk two"])   # None for a text over the context
        query = embedder.embed_query("what is in chunk one?")

Both backends record the same model name, so an index built through one can be queried through the other.

Task prefixes (`PREFIX_SCHEMES`) are added here, from each model's card: nomic-embed-text wants `search_document: `
and `search_query: `; mxbai-embed-large and snowflake-arctic-embed (v1, v1.5) want an instruction before queries
only; snowflake-arctic-embed2 wants `query: ` before queries; bge-m3, all-minilm and unknown models get none.

Built-in names: Ollama's `all-minilm` library tags `latest`, `22m` and `l6-v2` (and their `22m-*`/`l6-v2-*` quantised
variants) are all-MiniLM-L6-v2, the model rag.minilm runs. `33m` / `l12-v2` are all-MiniLM-L12-v2, which is not built in.
"""
from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag import minilm
from rag._result import Result
from rag.errors import ContextLengthExceeded, EmbedderError, ModelNotFound, OllamaError, OllamaUnreachable
from rag.manifest import find_model

if TYPE_CHECKING:
    from rag._ollama_types import ModelInfo
    from rag.ollama import Client

BACKENDS = ("auto", "ollama", "builtin")
BUILTIN_MODEL = minilm.MODEL_NAME
BUILTIN_TAGS = ("latest", "22m", "l6-v2")
"""Ollama tags of all-minilm that are all-MiniLM-L6-v2 (quantisation variants start with "22m-" or "l6-v2-")."""
DEFAULT_BATCH_SIZE = 32
DEFAULT_IN_FLIGHT = 2
MIN_NUM_CTX = 512
"""Smallest options.num_ctx sent; sizes grow in powers of two so Ollama reloads the model rarely."""

NOT_BUILTIN_MESSAGE = (
    "The built-in embedder serves only {builtin} (all-MiniLM-L6-v2, tags {tags}), not {model!r}. "
    "Use --embed-model {builtin}, or run the model through Ollama: `ollama pull {model}` and `--embed-backend ollama`."
)
NEEDS_OLLAMA_REASON = "embedding model {model!r} is served only by Ollama; the built-in embedder serves {builtin}"


@dataclass(frozen=True)
class PrefixScheme:
    """Text a model's card says to put before documents and before queries."""

    name: str
    """Short name recorded in the index manifest."""
    document: str = ""
    query: str = ""


_REPRESENT = "Represent this sentence for searching relevant passages: "
PREFIX_SCHEMES: dict[str, PrefixScheme] = {
    "nomic-embed-text": PrefixScheme("nomic", "search_document: ", "search_query: "),
    "mxbai-embed-large": PrefixScheme("represent-query", "", _REPRESENT),
    "snowflake-arctic-embed2": PrefixScheme("query-colon", "", "query: "),
    "snowflake-arctic-embed": PrefixScheme("represent-query", "", _REPRESENT),
}
"""Model base name (longest match of the name's start wins) -> prefix scheme; other models get none."""
NO_PREFIX = PrefixScheme("none")


@dataclass(frozen=True)
class EmbedderInfo(Result):
    """What the index manifest records about the embedder that made its vectors."""

    model: str
    """Model name without a ":latest" tag (e.g. "all-minilm", "nomic-embed-text")."""
    backend: str
    """"ollama" or "builtin"."""
    dimension: int | None
    """Vector length (None while an Ollama model has not said)."""
    digest: str | None
    """Ollama: the model digest from /api/tags; builtin: the first 12 hex digits of the model file's sha256."""
    prefix_scheme: str | None
    """Name of the task-prefix scheme applied (see PREFIX_SCHEMES), None for none."""


def base_name(model: str) -> str:
    """The model's name without namespace and tag, lower case.

    >>> base_name("Library/Nomic-Embed-Text:v1.5")
    'nomic-embed-text'
    """
    return model.strip().lower().rsplit("/", 1)[-1].split(":", 1)[0]


def prefix_scheme_for(model: str) -> PrefixScheme:
    """The task prefixes for a model, matched on its base name.

    >>> prefix_scheme_for("nomic-embed-text:latest").query
    'search_query: '
    >>> prefix_scheme_for("snowflake-arctic-embed2").name, prefix_scheme_for("bge-m3").name
    ('query-colon', 'none')
    """
    base = base_name(model)
    for key in sorted(PREFIX_SCHEMES, key=len, reverse=True):
        if base.startswith(key):
            return PREFIX_SCHEMES[key]
    return NO_PREFIX


def is_builtin(model: str) -> bool:
    """True when the built-in embedder serves this model name.

    >>> [is_builtin(m) for m in ("all-minilm", "all-minilm:l6-v2", "all-minilm:33m", "nomic-embed-text")]
    [True, True, False, False]
    """
    name = model.strip().lower()
    base, _, tag = name.partition(":")
    if base.removeprefix("library/") != BUILTIN_MODEL:
        return False
    return not tag or tag in BUILTIN_TAGS or tag.startswith(("22m-", "l6-v2-"))


def model_name(model: str) -> str:
    """The name recorded for a model: lower case, no ":latest"; every built-in alias becomes "all-minilm".

    >>> model_name("all-minilm:l6-v2"), model_name("nomic-embed-text:latest"), model_name("bge-m3:567m")
    ('all-minilm', 'nomic-embed-text', 'bge-m3:567m')
    """
    if is_builtin(model):
        return BUILTIN_MODEL
    name = model.strip().lower()
    return name.removesuffix(":latest")


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


class Embedder:
    """Base of the embedders: task prefixes and the shared interface. Use as a context manager, or call `close()`.

    Attributes:
        model: recorded model name (see `model_name`); backend: "ollama" or "builtin";
        prefix_scheme: the scheme's name, None when the model takes no prefixes;
        max_tokens: most tokens one input may have (None when unknown).
    """

    backend = ""
    max_tokens: int | None = None

    def __init__(self, model: str) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ValueError("model must be a non-empty name")
        self.model = model_name(model)
        self._scheme = prefix_scheme_for(model)
        self.prefix_scheme: str | None = None if self._scheme is NO_PREFIX else self._scheme.name

    @property
    def dimension(self) -> int | None:
        """Vector length."""
        raise NotImplementedError

    @property
    def digest(self) -> str | None:
        """Identifies the exact weights (see EmbedderInfo.digest)."""
        raise NotImplementedError

    def count_tokens(self, text: str) -> int | None:
        """Tokens the model would see for `text` as a document (prefix included); None when it cannot tell."""
        return None

    def embed_documents(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """One float32 unit vector per text, in order; None for a text longer than the model's context (never a
        truncated vector: the caller splits that text)."""
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not a str")
        return self._embed([self._scheme.document + t for t in texts], query=False)

    def embed_query(self, text: str) -> np.ndarray:
        """The float32 unit vector of a search query (query prefix added; an over-long query is cut to fit)."""
        vector = self._embed([self._scheme.query + text], query=True)[0]
        if vector is None:  # pragma: no cover - backends truncate queries
            raise EmbedderError(f"{self.model} could not embed the query.")
        return vector

    def info(self) -> EmbedderInfo:
        """What the index manifest stores about this embedder."""
        return EmbedderInfo(self.model, self.backend, self.dimension, self.digest, self.prefix_scheme)

    def close(self) -> None:
        """Release resources (an Ollama client this embedder created)."""

    def __enter__(self) -> Embedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model!r})"

    def _embed(self, texts: list[str], *, query: bool) -> list[np.ndarray | None]:
        raise NotImplementedError


class BuiltinEmbedder(Embedder):
    """all-MiniLM-L6-v2 in this process (rag.minilm): 384 dims, 256 tokens per input, no Ollama needed.

    Raises:
        EmbedderError: `model` is not a built-in name, or the model files are missing or altered.
    """

    backend = "builtin"

    def __init__(self, model: str = BUILTIN_MODEL) -> None:
        if not is_builtin(model):
            raise EmbedderError(NOT_BUILTIN_MESSAGE.format(builtin=BUILTIN_MODEL, tags=", ".join(BUILTIN_TAGS), model=model))
        super().__init__(model)
        self._minilm = minilm.load()
        self.max_tokens = self._minilm.max_tokens

    @property
    def dimension(self) -> int:
        return self._minilm.dimension

    @property
    def digest(self) -> str:
        return minilm.digest()[:12]

    def count_tokens(self, text: str) -> int:
        return self._minilm.count_tokens(self._scheme.document + text)

    def _embed(self, texts: list[str], *, query: bool) -> list[np.ndarray | None]:
        return self._minilm.embed(texts, truncate=query)


class OllamaEmbedder(Embedder):
    """Embeddings from POST /api/embed, `batch_size` texts per request, at most `in_flight` requests at once.

    Documents go with `truncate: false` and an `options.num_ctx` that fits the batch (so nothing is cut silently);
    when Ollama refuses a batch as too long, it is bisected to find the texts over the context, which come back None.

    Args:
        client: the rag.ollama.Client to use (shared; closed by `close()` only when `owns_client`).
        model: the Ollama model name as the server knows it.
        batch_size / in_flight: texts per request, and concurrent requests (Ollama's parallel slots).
        digest: the model digest, when the caller already read /api/tags.
    """

    backend = "ollama"

    def __init__(self, client: Client, model: str, batch_size: int = DEFAULT_BATCH_SIZE,
                 in_flight: int = DEFAULT_IN_FLIGHT, *, digest: str | None = None, owns_client: bool = False) -> None:
        if batch_size < 1 or in_flight < 1:
            raise ValueError("batch_size and in_flight must be at least 1")
        super().__init__(model)
        self.client = client
        self.batch_size = batch_size
        self.in_flight = in_flight
        self._name = model.strip()
        self._digest = digest
        self._owns_client = owns_client
        self._dimension: int | None = None
        self._shown = False
        self._num_ctx = 0  # largest num_ctx sent so far: never go lower, or Ollama reloads the model
        self._lock = threading.Lock()

    def _show(self) -> None:
        """Read context and embedding length from /api/show once (a server without the fields leaves them None)."""
        if not self._shown:
            shown = self.client.show(self._name)
            self.max_tokens = shown.context_length or None
            self._dimension = self._dimension or shown.embedding_length or None
            self._shown = True

    @property
    def dimension(self) -> int | None:
        if self._dimension is None:
            self._show()
        return self._dimension

    @property
    def digest(self) -> str | None:
        if self._digest is None:
            self._digest = _find_model(self.client.tags(), self._name).digest or None
        return self._digest

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def _embed(self, texts: list[str], *, query: bool) -> list[np.ndarray | None]:
        if not texts:
            return []
        self._show()
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1 or self.in_flight == 1:
            results = [self._embed_batch(b, query) for b in batches]
        else:
            results = self._concurrently(batches, query)
        return [v for batch in results for v in batch]

    def _concurrently(self, batches: list[list[str]], query: bool) -> list[list[np.ndarray | None]]:
        """Run the batches with at most `in_flight` requests open; the first error cancels the batches not started."""
        pool = ThreadPoolExecutor(max_workers=min(self.in_flight, len(batches)), thread_name_prefix="rag-embed")
        try:
            futures: list[Future[list[np.ndarray | None]]] = [pool.submit(self._embed_batch, b, query) for b in batches]
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _embed_batch(self, texts: list[str], query: bool) -> list[np.ndarray | None]:
        """Vectors for one batch; on ContextLengthExceeded, bisect to return None for exactly the texts too long."""
        try:
            response = self.client.embed(self._name, texts, truncate=query, options=self._options(texts))
        except ContextLengthExceeded:
            if query:
                raise
            if len(texts) == 1:
                return [None]
            mid = len(texts) // 2
            return self._embed_batch(texts[:mid], query) + self._embed_batch(texts[mid:], query)
        if len(response.embeddings) != len(texts):
            raise OllamaError(
                f"Ollama returned {len(response.embeddings)} vectors for {len(texts)} inputs to {self._name}. "
                "Upgrade Ollama, or check the server log."
            )
        vectors = _unit(np.asarray(response.embeddings, dtype=np.float32))
        if self._dimension is None:
            self._dimension = int(vectors.shape[1])
        return list(vectors)

    def _options(self, texts: list[str]) -> dict[str, int] | None:
        """options.num_ctx fitting the batch's longest text (generous estimate, a power of two, capped at the model's
        context length), never lower than one already sent; None when the model's context length is unknown."""
        if not self.max_tokens:
            return None
        longest = max(_generous_tokens(t) for t in texts)
        wanted = max(MIN_NUM_CTX, 1 << math.ceil(math.log2(max(longest, 1))))
        with self._lock:
            self._num_ctx = max(self._num_ctx, min(wanted, self.max_tokens))
            return {"num_ctx": self._num_ctx}


def _generous_tokens(text: str) -> int:
    """An over-estimate of any subword tokenizer's count: half the UTF-8 bytes (2x for English, 1.5/char for CJK)."""
    return len(text.encode("utf-8")) // 2 + 8


def _find_model(models: Sequence[ModelInfo], name: str) -> ModelInfo:
    """The /api/tags entry for `name` (":latest" implied). Raises ModelNotFound with the pull hint."""
    entry = find_model(models, name)
    if entry is None:
        raise ModelNotFound(name)
    return entry


def open_embedder(model: str, backend: str = "auto", client: Client | None = None, *,
                  batch_size: int = DEFAULT_BATCH_SIZE, in_flight: int = DEFAULT_IN_FLIGHT) -> Embedder:
    """The embedder for `model` through `backend`.

    "ollama": the model on the Ollama server; "builtin": rag.minilm (all-minilm only); "auto": Ollama when it is
    reachable and has the model, else the built-in embedder when it serves the model.

    Args:
        client: an Ollama client to share (default: a new one for OLLAMA_HOST, closed with the embedder).
        batch_size / in_flight: for the Ollama backend (see OllamaEmbedder).

    Raises:
        OllamaUnreachable: Ollama is down and the model is not built in (says `ollama serve`).
        ModelNotFound: Ollama lacks the model and it is not built in (says `ollama pull NAME`).
        EmbedderError: "builtin" with a model that is not built in, or the built-in files are missing/altered.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    builtin = is_builtin(model)
    if backend == "builtin":
        return BuiltinEmbedder(model)
    owns = client is None
    if client is None:
        from rag.ollama import Client

        client = Client()
    try:
        if backend == "auto" and not client.is_reachable():
            if not builtin:
                raise OllamaUnreachable(client.host, reason=NEEDS_OLLAMA_REASON.format(model=model, builtin=BUILTIN_MODEL))
            return _close_then(client, owns, BuiltinEmbedder(model))
        try:
            entry = _find_model(client.tags(), model)
        except ModelNotFound:
            if backend == "ollama" or not builtin:
                raise
            return _close_then(client, owns, BuiltinEmbedder(model))
        return OllamaEmbedder(client, model, batch_size, in_flight, digest=entry.digest or None,
                              owns_client=owns)
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
