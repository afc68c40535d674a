"""The Ollama-compatible face: each collection is a model (`rag:default`), so any Ollama client can chat with it.

`GET /api/tags`, `GET /api/version`, `POST /api/chat` and `POST /api/generate` (streamed NDJSON by default, as in
Ollama; `"stream": false` for one object). Replies carry the answer with its sources appended to the text, and the
same sources as a structured `citations` field (a declined answer's closest passages as `closest`). Sampling
`options` are ignored (the server's settings apply).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rag._version import __version__
from rag.ollama import wire_stats
from rag.server.chat import ChatReply, model_name, prompt_messages, start_chat
from rag.server.errors import ollama_error_body
from rag.server.rags import RagPool
from rag.server.text import citations, closest

NDJSON = "application/x-ndjson"


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = True


class GenerateBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    prompt: str = Field(min_length=1)
    stream: bool = True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _final_fields(reply: ChatReply, started: float) -> dict[str, Any]:
    """The last line's fields in Ollama's wire terms: durations in integer nanoseconds (our `Timings` are
    milliseconds: converted back here, at this edge only), `total_duration` this request's wall time, token counts as
    `prompt_eval_count` / `eval_count`."""
    answer = reply.answer
    elapsed_ns = int((time.perf_counter() - started) * 1e9)
    extra: dict[str, Any] = {"done": True, "done_reason": "stop"}
    if answer is not None:
        extra |= wire_stats(answer.timings)
    extra["total_duration"] = elapsed_ns  # the whole request (retrieval and verification too), not just the model
    if answer is not None:
        extra |= {
            "citations": citations(answer),
            "closest": closest(answer),
            "answerable": answer.answerable,
            "answer_mode": answer.mode,
            "warnings": list(answer.warnings),
        }
    return extra


def _ndjson(lines: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    try:
        for line in lines:
            yield (json.dumps(line, ensure_ascii=False) + "\n").encode()
    except Exception as exc:  # mid-stream: Ollama clients raise on an `error` line
        yield (json.dumps(ollama_error_body(exc)) + "\n").encode()


def router(pool: RagPool) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["ollama"])

    @api.get("/version", summary="Ollama-compatible version")
    def version() -> Any:
        return {"version": __version__}

    @api.get("/tags", summary="Each collection as an Ollama model")
    def tags() -> Any:
        models = []
        for c in pool.base.status().collections:
            name = model_name(c.name)
            models.append(
                {
                    "name": name,
                    "model": name,
                    "modified_at": c.updated_at or _now(),
                    "size": 0,
                    "digest": hashlib.sha256(name.encode()).hexdigest(),
                    "details": {
                        "format": "rag",
                        "family": "rag",
                        "families": ["rag"],
                        "parameter_size": f"{c.chunks} chunks",
                        "quantization_level": "",
                    },
                }
            )
        return {"models": models}

    def _reply(model: str, messages: list[dict[str, Any]], stream: bool, generate: bool) -> Any:
        started = time.perf_counter()
        reply = start_chat(pool, model, messages)

        def piece(text: str) -> dict[str, Any]:
            if generate:
                return {"model": model, "created_at": _now(), "response": text, "done": False}
            return {
                "model": model,
                "created_at": _now(),
                "message": {"role": "assistant", "content": text},
                "done": False,
            }

        if not stream:
            line = piece("".join(reply.text()))
            return line | _final_fields(reply, started)

        def lines() -> Iterator[dict[str, Any]]:
            for text in reply.text():
                yield piece(text)
            yield piece("") | _final_fields(reply, started)

        return StreamingResponse(_ndjson(lines()), media_type=NDJSON)

    @api.post("/chat", summary="Ollama-compatible chat: answers from the collection named by `model`")
    def chat(body: ChatBody) -> Any:
        return _reply(body.model, body.messages, body.stream, generate=False)

    @api.post("/generate", summary="Ollama-compatible generate: the prompt answered from the collection")
    def generate(body: GenerateBody) -> Any:
        return _reply(body.model, prompt_messages(body.prompt), body.stream, generate=True)

    return api


__all__ = ["ChatBody", "GenerateBody", "router"]
