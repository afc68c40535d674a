"""What an embedding model can read: a small table of known multilingual and English-only models.

Used for the per-script abstention floor (`rag.answer.evidence`: a CJK query with an English-only embedder is judged on
lexical evidence, not on cosine), for the dense leg's weight in fusion (`dense_weight`), and by `rag doctor` (CJK
documents indexed with an English-only embedder). Names are matched on the model name without tag or namespace
("jeffh/intfloat-multilingual-e5-large:f16" -> "intfloat-multilingual-e5-large"), by prefix. The built-in embedder
is all-minilm. Unknown models are "unknown": callers keep their defaults for them.
"""

from __future__ import annotations

from typing import Literal

Languages = Literal["multilingual", "english", "unknown"]

MULTILINGUAL: tuple[str, ...] = (
    "bge-m3",
    "nomic-embed-text-v2",
    "nomic-embed-text:v2",
    "multilingual-e5",
    "intfloat-multilingual-e5",
    "paraphrase-multilingual",
    "snowflake-arctic-embed2",
    "granite-embedding:278m",
    "qwen3-embedding",
    "embeddinggemma",
    "jina-embeddings-v3",
    "labse",
    "distiluse-base-multilingual",
)
"""Models trained for many languages, Chinese among them (name prefixes)."""
ENGLISH_ONLY: tuple[str, ...] = (
    "all-minilm",
    "all-mpnet",
    "nomic-embed-text",
    "mxbai-embed-large",
    "snowflake-arctic-embed",
    "bge-large-en",
    "bge-base-en",
    "bge-small-en",
    "granite-embedding:30m",
    "granite-embedding",
    "e5-large",
    "e5-base",
    "e5-small",
    "gte-base",
    "gte-large",
    "builtin",
)
"""Models trained (almost) only on English: any two CJK texts look alike to them (name prefixes, checked after
MULTILINGUAL, so "nomic-embed-text-v2" is multilingual and "nomic-embed-text" English)."""
PULL_FOR_CHINESE = "bge-m3"
"""The Ollama embedding model to pull for Chinese (and mixed-language) documents."""
ENGLISH_ONLY_CJK_WEIGHT = 0.0
"""Suggested dense-leg weight for a CJK query with an English-only embedder (its cosine carries no signal)."""


def _base(model: str) -> str:
    name = model.strip().casefold()
    name = name.rsplit("/", 1)[-1]
    return name


def languages(model: str) -> Languages:
    """ "multilingual", "english" or "unknown" for an embedding model name (tags and namespaces ignored)."""
    base = _base(model)
    bare = base.split(":", 1)[0]
    for prefix in MULTILINGUAL:
        if base.startswith(prefix) or bare.startswith(prefix):
            return "multilingual"
    for prefix in ENGLISH_ONLY:
        if base.startswith(prefix) or bare.startswith(prefix.split(":", 1)[0]) and ":" not in prefix:
            return "english"
    return "unknown"


def is_multilingual(model: str) -> bool | None:
    """True/False when the model is in the table, None when unknown."""
    kind = languages(model)
    return None if kind == "unknown" else kind == "multilingual"


def dense_weight(model: str, script: str) -> float:
    """Weight for the dense leg in fusion for a query in `script` ("cjk", "latin", "other"): 1.0, except an
    English-only model on a non-Latin query (ENGLISH_ONLY_CJK_WEIGHT)."""
    if script != "latin" and languages(model) == "english":
        return ENGLISH_ONLY_CJK_WEIGHT
    return 1.0


__all__ = [
    "ENGLISH_ONLY",
    "ENGLISH_ONLY_CJK_WEIGHT",
    "MULTILINGUAL",
    "PULL_FOR_CHINESE",
    "Languages",
    "dense_weight",
    "is_multilingual",
    "languages",
]
