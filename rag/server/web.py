"""The web page at `/`: an ask box, the answer streaming in, numbered sources with the verified quote highlighted.
Its files ship in `rag/server/static/` (package data); nothing is loaded from elsewhere, so it works offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

STATIC = Path(__file__).with_name("static")


def router() -> APIRouter:
    page = APIRouter(include_in_schema=False)

    @page.get("/")
    def index() -> Any:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    @page.get("/favicon.ico")
    def favicon() -> Any:
        return Response(status_code=204)

    return page


__all__ = ["STATIC", "router"]
