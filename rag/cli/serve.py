"""`rag serve`: the REST, Ollama-compatible and OpenAI-compatible APIs and the web page over one shared `RAG`."""

from __future__ import annotations

import importlib.util
from typing import Any

import click

from rag.cli._common import fail, index_options, open_rag


@click.command(name="serve")
@index_options
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind; any non-loopback address needs --token."
)
@click.option("--port", default=8321, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--token", envvar="RAG_SERVE_TOKEN", help="Bearer token every request must send (env RAG_SERVE_TOKEN).")
@click.option(
    "--max-body",
    type=click.IntRange(1),
    default=1 << 20,
    show_default=True,
    help="Largest request body in bytes; larger ones get 413.",
)
@click.option("-m", "--chat-model", envvar="RAG_CHAT_MODEL", help='Chat model ("none": extractive answers).')
@click.option("--strict", is_flag=True, default=None, help="Drop citations whose quote is not found in the source.")
def serve_cmd(
    host: str, port: int, token: str | None, max_body: int, chat_model: str | None, strict: bool | None, **options: Any
) -> None:
    """Serve the index over HTTP: REST (/v1/ask, /docs), Ollama (/api/chat, model rag:COLLECTION), OpenAI
    (/v1/chat/completions) and a web page at /. Binds 127.0.0.1 unless --host says otherwise.

    \b
    Example:
        rag serve --port 8321
        curl -s localhost:8321/api/chat -d '{"model": "rag:default", "messages": [{"role": "user", "content": "Hi?"}]}'
    """
    from rag.server.run import SERVE_EXTRA_MISSING, check_bind, serve

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        fail(click.UsageError(SERVE_EXTRA_MISSING))
    try:
        check_bind(host, token)
    except ValueError as exc:
        fail(exc)
    rag = open_rag(options, chat_model=chat_model, strict=strict)
    click.echo(f"rag serve: http://{host}:{port}/ (API docs at /docs){' - token required' if token else ''}", err=True)
    with rag:
        serve(rag, host, port, token=token, max_body=max_body)
