"""Typed results of the Ollama API (re-exported by `rag.ollama`), parsed leniently: unknown keys are ignored and
missing ones take the field default, so newer or older servers don't break us.

Ollama sends durations in nanoseconds (`total_duration`, `load_duration`, ...) and token counts as `*_count`; this is
the one place they are read: every duration here is float milliseconds named `*_ms`, every count `*_tokens`
(`STATS_FROM_WIRE`). `wire_stats` turns them back into Ollama's fields, for a face that must speak Ollama's wire."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from rag._result import Result

_T = TypeVar("_T")


NS_PER_MS = 1_000_000
STATS_FROM_WIRE: dict[str, str] = {
    "total_duration": "model_ms",
    "load_duration": "load_ms",
    "prompt_eval_duration": "prompt_eval_ms",
    "eval_duration": "eval_ms",
    "prompt_eval_count": "prompt_tokens",
    "eval_count": "eval_tokens",
}
"""Ollama's reply field -> our field. Durations (`*_duration`, nanoseconds) become milliseconds."""


def stats_from_wire(data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` (an Ollama reply) with its stats renamed to ours, nanoseconds as milliseconds (rounded to the
    nanosecond, so `wire_stats` gives back the exact integers).

    >>> stats_from_wire({"total_duration": 1_500_000, "eval_count": 7, "model": "m"})
    {'model': 'm', 'model_ms': 1.5, 'eval_tokens': 7}
    """
    out = {k: v for k, v in data.items() if k not in STATS_FROM_WIRE}
    for wire, name in STATS_FROM_WIRE.items():
        value = data.get(wire)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = round(value / NS_PER_MS, 6) if wire.endswith("_duration") else int(value)
    return out


def _parse(cls: type[_T], data: Mapping[str, Any], **extra: Any) -> _T:
    """Build a result from a reply, ignoring unknown keys and None values (the field default applies)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in stats_from_wire(data).items() if k in names and v is not None} | extra)


@dataclass(frozen=True)
class EmbedResponse(Result):
    """Reply of /api/embed (or the legacy /api/embeddings, one call per input)."""

    embeddings: list[list[float]] = field(default_factory=list)
    """One vector per input, in input order."""
    model: str = ""
    prompt_tokens: int | None = None
    """Tokens read over all inputs (Ollama's prompt_eval_count; None from the legacy endpoint)."""
    model_ms: float | None = None
    """Milliseconds for the whole request (Ollama's total_duration)."""
    load_ms: float | None = None
    """Milliseconds spent loading the model (Ollama's load_duration)."""


@dataclass(frozen=True)
class Message(Result):
    """One chat message."""

    role: str = "assistant"
    content: str = ""
    thinking: str | None = None
    """Reasoning text, when the request asked for `think`."""


@dataclass(frozen=True)
class ModelStats(Result):
    """The counters and durations of Ollama's final reply object (also what `Answer.timings` carries), in
    milliseconds and tokens (converted from Ollama's nanoseconds and `*_count` fields when the reply is parsed)."""

    model_ms: float | None = None
    """Milliseconds for the whole model request, as the model server measured it (Ollama's total_duration)."""
    load_ms: float | None = None
    """Milliseconds spent loading the model (load_duration)."""
    prompt_eval_ms: float | None = None
    """Milliseconds reading the prompt (prompt_eval_duration)."""
    eval_ms: float | None = None
    """Milliseconds generating (eval_duration)."""
    prompt_tokens: int | None = None
    """Prompt tokens (prompt_eval_count)."""
    eval_tokens: int | None = None
    """Generated tokens (eval_count)."""


def wire_stats(stats: ModelStats) -> dict[str, int]:
    """Ollama's reply fields for `stats`: durations back in integer nanoseconds, counts as `*_count`; fields that are
    None are left out.

    >>> wire_stats(ModelStats(model_ms=1.5, eval_tokens=7))
    {'total_duration': 1500000, 'eval_count': 7}
    """
    out: dict[str, int] = {}
    for wire, name in STATS_FROM_WIRE.items():
        value = getattr(stats, name)
        if value is not None:
            out[wire] = round(value * NS_PER_MS) if wire.endswith("_duration") else int(value)
    return out


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
