"""The Ollama HTTP API: `Client` (one httpx.Client, typed results, errors that say the fix), its reply types and
the model-name helpers.

`client` sends and translates; `types` parses replies leniently into frozen dataclasses; `models` normalises names.
"""

from __future__ import annotations

from rag.ollama.client import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_SHORT_TIMEOUT,
    Client,
    parse_host,
)
from rag.ollama.models import find_model, normalize_model, require_model
from rag.ollama.types import (
    ChatResponse,
    EmbedResponse,
    GenerateResponse,
    Message,
    ModelInfo,
    ModelStats,
    PullProgress,
    RunningModel,
    ShowResponse,
    stats_from_wire,
    wire_stats,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HOST",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_SHORT_TIMEOUT",
    "ChatResponse",
    "Client",
    "EmbedResponse",
    "GenerateResponse",
    "Message",
    "ModelInfo",
    "ModelStats",
    "PullProgress",
    "RunningModel",
    "ShowResponse",
    "find_model",
    "stats_from_wire",
    "wire_stats",
    "normalize_model",
    "parse_host",
    "require_model",
]
