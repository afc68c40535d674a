"""Typed results of the Ollama API (re-exported by `rag.ollama`), parsed leniently: unknown keys are ignored and
missing ones take the field default, so newer or older servers don't break us. Durations are nanoseconds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rag._result import Result

_T = TypeVar("_T")


def _parse(cls: type[_T], data: Mapping[str, Any], **extra: Any) -> _T:
    """Build a result from a reply, ignoring unknown keys and None values (the field default applies)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names and v is not None} | extra)


@dataclass(frozen=True)
class EmbedResponse(Result):
    """Reply of /api/embed (or the legacy /api/embeddings, one call per input)."""

    embeddings: list[list[float]] = field(default_factory=list)
    """One vector per input, in input order."""
    model: str = ""
    prompt_eval_count: int | None = None
    """Tokens read over all inputs (None from the legacy endpoint)."""
    total_duration: int | None = None
    """Nanoseconds."""
    load_duration: int | None = None
    """Nanoseconds spent loading the model."""


@dataclass(frozen=True)
class Message(Result):
    """One chat message."""

    role: str = "assistant"
    content: str = ""
    thinking: str | None = None
    """Reasoning text, when the request asked for `think`."""


@dataclass(frozen=True)
class ModelStats(Result):
    """The counters and durations of Ollama's final reply object (also what `Answer.timings` carries)."""

    total_duration: int | None = None
    """Nanoseconds for the whole request."""
    load_duration: int | None = None
    """Nanoseconds spent loading the model."""
    prompt_eval_count: int | None = None
    """Prompt tokens."""
    prompt_eval_duration: int | None = None
    """Nanoseconds reading the prompt."""
    eval_count: int | None = None
    """Generated tokens."""
    eval_duration: int | None = None
    """Nanoseconds generating."""


@dataclass(frozen=True)
class _GenerationStats(ModelStats):
    model: str = ""
    created_at: str = ""
    done: bool = False
    done_reason: str | None = None
    """"stop", "length", "load", "unload"..."""


@dataclass(frozen=True)
class ChatResponse(_GenerationStats):
    """Reply of /api/chat, or one streamed chunk of it (the last has done=True and the stats)."""

    message: Message = field(default_factory=Message)


@dataclass(frozen=True)
class GenerateResponse(_GenerationStats):
    """Reply of /api/generate, or one streamed chunk of it."""

    response: str = ""
    thinking: str | None = None


@dataclass(frozen=True)
class ModelInfo(Result):
    """One installed model from /api/tags."""

    name: str = ""
    model: str = ""
    size: int = 0
    """Bytes on disk."""
    digest: str = ""
    modified_at: str = ""
    family: str = ""
    parameter_size: str = ""
    quantization_level: str = ""


@dataclass(frozen=True)
class ShowResponse(Result):
    """Details of one model from /api/show."""

    model: str = ""
    family: str = ""
    parameter_size: str = ""
    quantization_level: str = ""
    context_length: int | None = None
    """Tokens, from model_info's `<arch>.context_length`."""
    embedding_length: int | None = None
    """Vector size, from model_info's `<arch>.embedding_length`."""
    capabilities: list[str] = field(default_factory=list)
    """E.g. "completion", "embedding", "tools", "thinking" (empty from older servers)."""
    model_info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PullProgress(Result):
    """One progress line of /api/pull."""

    status: str = ""
    digest: str | None = None
    total: int | None = None
    """Bytes of this layer."""
    completed: int | None = None
    """Bytes downloaded so far."""


@dataclass(frozen=True)
class RunningModel(Result):
    """One loaded model from /api/ps."""

    name: str = ""
    model: str = ""
    size: int = 0
    size_vram: int = 0
    digest: str = ""
    expires_at: str = ""


def _chat_response(data: Mapping[str, Any]) -> ChatResponse:
    return _parse(ChatResponse, data, message=_parse(Message, data.get("message") or {}))


def _generate_response(data: Mapping[str, Any]) -> GenerateResponse:
    return _parse(GenerateResponse, data)


def _model_info(data: Mapping[str, Any]) -> ModelInfo:
    return _parse(ModelInfo, data, **_parse_details(data))


def _parse_details(data: Mapping[str, Any]) -> dict[str, str]:
    details = data.get("details") or {}
    return {k: str(details[k]) for k in ("family", "parameter_size", "quantization_level") if details.get(k)}


def _show_response(model: str, data: Mapping[str, Any]) -> ShowResponse:
    info = data.get("model_info") or {}

    def suffix(name: str) -> int | None:
        return next((int(v) for k, v in info.items() if k.endswith(name) and isinstance(v, (int, float))), None)

    return ShowResponse(
        model=model,
        context_length=suffix(".context_length"),
        embedding_length=suffix(".embedding_length"),
        capabilities=list(data.get("capabilities") or []),
        model_info=dict(info),
        **_parse_details(data),
    )
