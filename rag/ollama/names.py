"""Model names: Ollama's `:latest` rule, close matches for a typo, and which installed models can chat.

>>> same_model("llama3.2", "Llama3.2:latest")
True
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
    OR_NONE,
    PULL_FIX,
)
from rag.ollama.models import normalize_model

EMBEDDING_FAMILIES = frozenset({"bert", "nomic-bert", "xlm-roberta", "jina-bert-v2", "new", "gte"})
"""Model families that only embed (what `ollama show` reports for all-minilm, nomic-embed-text, bge-m3, ...)."""


def short(name: str) -> str:
    """The name as people type it: without `:latest`."""
    return name.removesuffix(":latest")


def same_model(a: str, b: str) -> bool:
    """True when both names mean the same model (`:latest` implied, case-insensitive)."""
    return normalize_model(a) == normalize_model(b)


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
    return f"{CHAT_MODEL_MISSING_MESSAGE.format(model=model, host=host)} {missing_chat_model_fix(model, chat_models)}"


def missing_chat_model_fix(model: str, chat_models: Sequence[str]) -> str:
    """The fix part of `missing_chat_model_message` (also `rag doctor`'s fix line)."""
    guesses = close_matches(model, chat_models)
    names = ", ".join(short(m) for m in chat_models)
    installed = INSTALLED_CHAT_MODELS.format(names=names) if chat_models else NO_CHAT_MODELS
    if guesses:
        return (
            f"{DID_YOU_MEAN.format(names=' or '.join(guesses))} {installed} "
            f"{CHAT_MODEL_FIX}, e.g. `--chat-model {guesses[0]}`."
        )
    choose = f"Or {CHAT_MODEL_FIX[0].lower()}{CHAT_MODEL_FIX[1:]} with an installed one, " if chat_models else "Or "
    return f"{PULL_FIX.format(model=model)} {installed} {choose}{OR_NONE}"


def not_a_chat_model_message(model: str, chat_models: Sequence[str]) -> str:
    """What to say when `model` embeds only (e.g. `--chat-model all-minilm`)."""
    parts = [NOT_A_CHAT_MODEL_MESSAGE.format(model=model)]
    names = ", ".join(short(m) for m in chat_models)
    parts.append(INSTALLED_CHAT_MODELS.format(names=names) if chat_models else NO_CHAT_MODELS)
    example = short(chat_models[0]) if chat_models else "llama3.2"
    fix = f"{CHAT_MODEL_FIX}, e.g. `--chat-model {example}`"
    parts.append(f"{fix}, {OR_NONE}" if chat_models else f"{fix} after `rag pull {example}`, {OR_NONE}")
    return " ".join(parts)


__all__ = [
    "EMBEDDING_FAMILIES",
    "close_matches",
    "is_embedding_only",
    "missing_chat_model_fix",
    "missing_chat_model_message",
    "not_a_chat_model_message",
    "same_model",
    "short",
]
