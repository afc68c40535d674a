"""Check the chat model before asking, so a typo or an embedding model gets a message naming the fix."""

from __future__ import annotations

from typing import Any

from rag.config import DEFAULT_CHAT_MODEL
from rag.errors import ConfigError, ModelNotFound
from rag.vocab import NO_CHAT_MODEL


def check_chat_model(rag: Any, *, explicit: bool) -> None:
    """Raise when the chat model cannot answer: not installed (with "did you mean" and the installed chat models)
    or an embedding-only model. Skipped when Ollama is unreachable (the extractive fallback warns then), for
    `none` and gguf:PATH. A missing *default* model is left to the library's extractive fallback unless `explicit`."""
    from rag.ollama.models import find_model
    from rag.ollama.names import is_embedding_only, missing_chat_model_message, not_a_chat_model_message

    model = rag.settings.chat_model.strip()
    if model.lower() == NO_CHAT_MODEL or model.startswith("gguf:"):
        return
    client = rag.client
    if not client.is_reachable():
        foreign = client.not_ollama_error(None)
        if foreign is not None:
            raise foreign
        return
    models = client.tags()
    chat_models = [m.name or m.model for m in models if not is_embedding_only(m.name or m.model, m.family)]
    found = find_model(models, model)
    if found is None:
        if not explicit and model == DEFAULT_CHAT_MODEL:
            return
        error = ModelNotFound(model)
        error.args = (missing_chat_model_message(model, client.host, chat_models),)
        raise error
    if is_embedding_only(found.name or found.model, found.family):
        capabilities = client.show(found.name or found.model).capabilities
        if is_embedding_only(model, found.family, capabilities):
            raise ConfigError(not_a_chat_model_message(model, chat_models))


__all__ = ["check_chat_model"]
