"""The REST face: `/v1/ask` (JSON or NDJSON events), `/v1/retrieve`, `/v1/status`, `/v1/index` jobs, `/v1/chunks`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from rag.answer.types import Answer
from rag.server.errors import error_body
from rag.server.rags import RagPool
from rag.vocab import FILE_TYPES, RETRIEVAL_MODES, RetrievalMode

NDJSON = "application/x-ndjson"


class SearchBody(BaseModel):
    """What to retrieve: the question and the retrieval options of `rag ask`."""

    question: str = Field(min_length=1, max_length=20_000)
    k: int | None = Field(default=None, ge=1, le=200, description="How many chunks (default: the server's top_k).")
    mode: RetrievalMode = Field(default="hybrid", description=f"One of {RETRIEVAL_MODES}.")
    path: str | None = Field(default=None, description="Keep only sources matching this glob (`*.pdf`, `docs/*`).")
    types: list[str] | None = Field(default=None, description=f"Keep only these kinds, among {FILE_TYPES}.")
    collection: str | None = Field(default=None, description="Collection (default: the server's).")


class AskBody(SearchBody):
    """A question to answer with citations."""

    chat_model: str | None = Field(default=None, description='Chat model for this question ("none": extractive).')
    strict: bool | None = Field(default=None, description="Drop citations whose quote is not found in the source.")
    min_score: float | None = Field(default=None, description="Abstention floor on the best dense cosine.")
    stream: bool = Field(default=False, description="NDJSON events: retrieval, answer deltas, the final answer.")


class IndexBody(BaseModel):
    """A folder (or file) on the server's disk to sync into the collection."""

    path: str
    rebuild: bool = False
    include: list[str] = []
    exclude: list[str] = []
    collection: str | None = None


def _line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode()


def ask_events(stream: Iterator[str | Answer], hits: list[Any]) -> Iterator[bytes]:
    """NDJSON events of one streamed answer; `hits` holds the retrieval once the first item has been taken."""
    first = next(stream)  # runs retrieval (and raises its errors before any byte is sent)

    def events() -> Iterator[bytes]:
        yield _line({"type": "retrieval", "hits": [h.to_dict() for h in (hits[0] if hits else [])]})
        try:
            for item in chain([first], stream):
                if isinstance(item, Answer):
                    yield _line({"type": "answer", "answer": item.to_dict()})
                else:
                    yield _line({"type": "delta", "text": item})
        except Exception as exc:  # the status line is gone: the error becomes the last event
            yield _line({"type": "error", **error_body(exc)})

    return events()


def router(pool: RagPool) -> APIRouter:
    from rag.server.jobs import Jobs

    api = APIRouter(prefix="/v1", tags=["rag"])
    jobs = Jobs()

    @api.post("/ask", summary="Answer a question with verified citations")
    def ask(body: AskBody) -> Any:
        rag = pool.get(body.collection, body.chat_model, body.strict)
        options: dict[str, Any] = dict(
            k=body.k, mode=body.mode, path=body.path, file_types=body.types, min_score=body.min_score
        )
        if not body.stream:
            return rag.ask(body.question, **options).to_dict()
        hits: list[Any] = []
        stream = rag.ask_stream(body.question, on_retrieval=hits.append, **options)
        return StreamingResponse(ask_events(stream, hits), media_type=NDJSON)

    @api.post("/retrieve", summary="The top-k chunks for a question, with their scores")
    def retrieve(body: SearchBody) -> Any:
        hits = pool.get(body.collection).retrieve(
            body.question, k=body.k, mode=body.mode, path=body.path, file_types=body.types
        )
        return {"hits": [h.to_dict() for h in hits]}

    @api.get("/status", summary="Where the index lives and what each collection holds")
    def status() -> Any:
        return pool.base.status().to_dict()

    @api.get("/chunks/{chunk_id}", summary="One indexed chunk: text, source, pages, headings")
    def chunk(chunk_id: str, collection: str | None = None) -> Any:
        found = pool.get(collection).chunk(chunk_id)
        if found is None:
            raise HTTPException(404, f"No chunk {chunk_id!r} in this collection.")
        return _chunk_dict(found)

    @api.post("/index", status_code=202, summary="Start indexing a folder on the server; poll /v1/index/{id}")
    def index(body: IndexBody) -> Any:
        rag = pool.get(body.collection)
        job = jobs.start(
            body.path,
            lambda progress: rag.index(
                body.path, rebuild=body.rebuild, include=body.include, exclude=body.exclude, progress=progress
            ),
        )
        return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/v1/index/{job.id}"})

    @api.get("/index/{job_id}", summary="Progress of an index job")
    def index_job(job_id: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"No index job {job_id!r}.")
        return job.to_dict()

    return api


def _chunk_dict(chunk: Any) -> dict[str, Any]:
    import dataclasses

    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(chunk).items()}


__all__ = ["AskBody", "IndexBody", "SearchBody", "ask_events", "router"]
