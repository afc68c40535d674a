"""The ASGI app: the faces over one `RagPool`, the guard (token, size limit) and errors as JSON."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag._version import __version__
from rag.api import RAG
from rag.errors import RagError
from rag.server.errors import error_body, http_status, ollama_error_body, openai_error_body
from rag.server.guard import Guard
from rag.server.rags import RagPool
from rag.server.web import STATIC

DEFAULT_MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted (1 MiB: questions and chat histories are small); larger ones get 413."""


def _face_body(path: str, error: BaseException, status: int) -> dict[str, Any]:
    if path.startswith("/api/"):
        return ollama_error_body(error)
    if path.startswith(("/v1/chat/", "/v1/models")):
        return openai_error_body(error, status)
    return error_body(error)


class _Message(Exception):
    """An HTTP error whose detail is the message, with a type name for the JSON body."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def create_app(rag: RAG, *, token: str | None = None, max_body: int = DEFAULT_MAX_BODY_BYTES) -> Any:
    """The ASGI app serving `rag` (shared by every request thread; the caller closes it after the server stops).

    Args:
        token: bearer token every request must carry (except the web page's own files); None: no check.
        max_body: request bodies over this many bytes get 413.
    """
    from fastapi.staticfiles import StaticFiles

    from rag.server import ollama_face, openai_face, rest, web

    pool = RagPool(rag)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        pool.close()

    app = FastAPI(
        title="ollama-rag",
        version=__version__,
        summary="Cited answers over your documents.",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.pool = pool

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        status = http_status(exc)
        return JSONResponse(_face_body(request.url.path, exc, status), status_code=status)

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(_face_body(request.url.path, exc, 422), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        error = _Message("ValueError", f"Invalid request: {problems}")
        return JSONResponse(_face_body(request.url.path, error, 422), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = _Message("HTTPError", str(exc.detail))
        return JSONResponse(_face_body(request.url.path, error, exc.status_code), status_code=exc.status_code)

    app.include_router(rest.router(pool))
    app.include_router(ollama_face.router(pool))
    app.include_router(openai_face.router(pool))
    app.include_router(web.router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return Guard(app, token=token, max_body=max_body)


__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_app"]
