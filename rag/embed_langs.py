"""Which embedding models handle which scripts: a small table of known multilingual models.

    >>> is_multilingual("bge-m3:567m"), is_multilingual("all-minilm")
    (True, False)
"""
from __future__ import annotations

MULTILINGUAL_MODELS = ("bge-m3", "nomic-embed-text-v2", "multilingual-e5", "paraphrase-multilingual")
"""Name stems (contained in the Ollama name, any tag) of models trained on many languages, Chinese included."""


def is_multilingual(model: str) -> bool:
    """True when `model` (an Ollama name, any tag or namespace) is a known multilingual embedding model."""
    base = model.strip().lower().partition(":")[0].rsplit("/", 1)[-1]
    return any(stem in base for stem in MULTILINGUAL_MODELS)


__all__ = ["MULTILINGUAL_MODELS", "is_multilingual"]
