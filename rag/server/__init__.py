"""`rag serve`: one shared `RAG` behind a REST API, an Ollama-compatible API, an OpenAI-compatible chat endpoint and a
small web page (the optional `[serve]` extra: FastAPI + uvicorn).

`rag.server.app.create_app(rag, token=...)` builds the ASGI app; `serve(rag, host, port, token=...)` runs it with
uvicorn. Importing this package needs neither.
"""

from __future__ import annotations

from rag.server.run import DEFAULT_HOST, DEFAULT_PORT, NEEDS_TOKEN, SERVE_EXTRA_MISSING, check_bind, is_loopback, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "NEEDS_TOKEN", "SERVE_EXTRA_MISSING", "check_bind", "is_loopback", "serve"]
