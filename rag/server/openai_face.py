"""The OpenAI-compatible face: `POST /v1/chat/completions` (JSON, or server-sent events with `"stream": true`) and
`GET /v1/models`; collections are models named `rag:<collection>`. Citations ride along as a `citations` field (a
declined answer's closest passages as `closest`)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ingest.chunking import estimate_tokens
from rag.server.chat import model_name, start_chat
from rag.server.errors import http_status, openai_error_body
from rag.server.rags import RagPool
from rag.server.text import citations, closest


class CompletionBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    stream: bool = False


def _sse(obj: Any) -> bytes:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()


def router(pool: RagPool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["openai"])

    @api.get("/models", summary="OpenAI-compatible model list: each collection")
    def models() -> Any:
        data = [
            {"id": model_name(c.name), "object": "model", "created": 0, "owned_by": "ollama-rag"}
            for c in pool.base.status().collections
        ]
        return {"object": "list", "data": data}

    @api.post("/chat/completions", summary="OpenAI-compatible chat completion answered from a collection")
    def completions(body: CompletionBody) -> Any:
        reply = start_chat(pool, body.model, body.messages)
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        base = {"id": ident, "created": created, "model": body.model}
        if not body.stream:
            text = "".join(reply.text())
            prompt = sum(estimate_tokens(str(m.get("content", ""))) for m in body.messages)
            done = estimate_tokens(text)
            return base | {
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done},
                "citations": citations(reply.answer) if reply.answer else [],
                "closest": closest(reply.answer) if reply.answer else [],
            }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return base | {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        def events() -> Iterator[bytes]:
            try:
                yield _sse(chunk({"role": "assistant", "content": ""}))
                for text in reply.text():
                    yield _sse(chunk({"content": text}))
                final = chunk({}, "stop")
                final["citations"] = citations(reply.answer) if reply.answer else []
                final["closest"] = closest(reply.answer) if reply.answer else []
                yield _sse(final)
            except Exception as exc:
                yield _sse(openai_error_body(exc, http_status(exc)))
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return api


__all__ = ["CompletionBody", "router"]
