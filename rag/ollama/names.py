"""Model names: Ollama's `:latest` rule, close matches for a typo, and which installed models can chat.

>>> canonical("llama3.2"), same_model("llama3.2", "llama3.2:latest")
('llama3.2:latest', True)
>>> close_matches("qwen2.5-coder:1.5", ["qwen2.5-coder:1.5b", "llama3.2:latest", "all-minilm:latest"])
['qwen2.5-coder:1.5b']
>>> close_matches("lama3.2", ["llama3.2:latest"])
['llama3.2']
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence

from rag.errors import (
    CHAT_MODEL_FIX,
    CHAT_MODEL_MISSING_MESSAGE,
    DID_YOU_MEAN,
    INSTALLED_CHAT_MODELS,
    NO_CHAT_MODELS,
    NOT_A_CHAT_MODEL_MESSAGE,
    PULL_OR_NONE,
)

EMBEDDING_FAMILIES = frozenset({"bert", "nomic-bert", "xlm-roberta", "jina-bert-v2", "new", "gte"})
"""Model families that only embed (what `ollama show` reports for all-minilm, nomic-embed-text, bge-m3, ...)."""


def canonical(name: str) -> str:
    """Ollama's rule: a name without a tag means `:latest`."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def short(name: str) -> str:
    """The name as people type it: without `:latest`."""
    return name.removesuffix(":latest")


def same_model(a: str, b: str) -> bool:
    """True when both names mean the same model."""
    return canonical(a.strip()) == canonical(b.strip())


def close_matches(name: str, installed: Sequence[str], n: int = 3) -> list[str]:
    """Installed names that look like a typo of `name`, best first (shown without `:latest`)."""
    pool = {short(m): m for m in installed}
    return difflib.get_close_matches(short(name), list(pool), n=n, cutoff=0.6)


def is_embedding_only(name: str, family: str = "", capabilities: Sequence[str] = ()) -> bool:
    """True for a model that embeds but cannot chat (by its capabilities when known, else family and name)."""
    if capabilities:
        return "completion" not in capabilities
    return family in EMBEDDING_FAMILIES or "embed" in name.lower() or "minilm" in name.lower()


def missing_chat_model_message(model: str, host: str, chat_models: Sequence[str]) -> str:
    """What to say when `model` is not installed: a close match first, else the installed chat models, and the fix.

    Pulling is offered only when no installed name is close (never "pull" a typo)."""
    parts = [CHAT_MODEL_MISSING_MESSAGE.format(model=model, host=host)]
    guesses = close_matches(model, chat_models)
    if guesses:
        parts.append(DID_YOU_MEAN.format(names=" or ".join(guesses)))
    names = ", ".join(short(m) for m in chat_models)
    parts.append(INSTALLED_CHAT_MODELS.format(names=names) if chat_models else NO_CHAT_MODELS)
    if guesses:
        parts.append(f"{CHAT_MODEL_FIX}, e.g. `--chat-model {guesses[0]}`.")
    else:
        parts.append(f"{CHAT_MODEL_FIX}, {PULL_OR_NONE.format(model=model)}")
    return " ".join(parts)


def not_a_chat_model_message(model: str, chat_models: Sequence[str]) -> str:
    """What to say when `model` embeds only (e.g. `--chat-model all-minilm`)."""
    parts = [NOT_A_CHAT_MODEL_MESSAGE.format(model=model)]
    names = ", ".join(short(m) for m in chat_models)
    parts.append(INSTALLED_CHAT_MODELS.format(names=names) if chat_models else NO_CHAT_MODELS)
    example = short(chat_models[0]) if chat_models else "llama3.2"
    fix = f"{CHAT_MODEL_FIX}, e.g. `--chat-model {example}`"
    parts.append(f"{fix}, or `--chat-model none` for extractive answers." if chat_models
                 else f"{fix} after `rag pull {example}`, or `--chat-model none` for extractive answers.")
    return " ".join(parts)


__all__ = [
    "EMBEDDING_FAMILIES", "canonical", "close_matches", "is_embedding_only", "missing_chat_model_message",
    "not_a_chat_model_message", "same_model", "short",
]
