"""The embedder interface (`Embedder`, `EmbedderInfo`), task prefixes per model, and model-name helpers.

    with open_embedder("all-minilm") as embedder:        # "auto": Ollama when it serves the model, else built in
        vectors = embedder.embed_documents(["chunk one", "chunk two"])   # None for a text over the context
        query = embedder.embed_query("what is in chunk one?")

Both backends record the same model name, so an index built through one can be queried through the other.

Task prefixes (`PREFIX_SCHEMES`) are added here, from each model's card: nomic-embed-text wants `search_document: `
and `search_query: `; mxbai-embed-large and snowflake-arctic-embed (v1, v1.5) want an instruction before queries
only; snowflake-arctic-embed2 wants `query: ` before queries; bge-m3, all-minilm and unknown models get none.

Built-in names: Ollama's `all-minilm` library tags `latest`, `22m` and `l6-v2` (and their `22m-*`/`l6-v2-*` quantised
variants) are all-MiniLM-L6-v2, the model rag.embed.minilm runs. `33m` / `l12-v2` are all-MiniLM-L12-v2, which is not
built in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rag._result import Result
from rag.embed import minilm
from rag.errors import EmbedderError
from rag.vocab import EMBED_BACKENDS

if TYPE_CHECKING:
    pass

BACKENDS = EMBED_BACKENDS
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
    """Rows scaled to length 1 (a zero row stays zero; NaN or inf stays non-finite), as float32.

    >>> _unit(np.array([[3e38, 4e38], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    vectors = np.asarray(vectors, dtype=np.float64)  # float64: huge components must not overflow the norm
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf rows stay non-finite; `usable` refuses them
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def usable(vector: np.ndarray) -> bool:
    """True for a vector that can be searched: every component finite and not all zero.

    >>> usable(np.array([0.6, 0.8])), usable(np.array([float("nan"), 1.0])), usable(np.zeros(3))
    (True, False, False)
    """
    return bool(np.isfinite(vector).all() and np.any(vector))


BAD_VECTOR_MESSAGE = (
    "{model} returned an unusable vector (NaN, infinite or all zero) for {what}. The model or the server is broken: "
    "re-pull the model (`ollama pull {model}`) or restart Ollama, then retry."
)


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
        vectors = self._embed([self._scheme.document + t for t in texts], query=False)
        for text, vector in zip(texts, vectors, strict=False):
            if vector is not None and not usable(vector):
                raise EmbedderError(BAD_VECTOR_MESSAGE.format(model=self.model, what=f"a document ({text[:60]!r})"))
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        """The float32 unit vector of a search query (query prefix added; an over-long query is cut to fit).

        Raises EmbedderError for a vector with NaN, infinite or only zero components, checked as documents are."""
        vector = self._embed([self._scheme.query + text], query=True)[0]
        if vector is None:  # pragma: no cover - backends truncate queries
            raise EmbedderError(f"{self.model} could not embed the query.")
        if not usable(vector):
            raise EmbedderError(BAD_VECTOR_MESSAGE.format(model=self.model, what="the query"))
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
