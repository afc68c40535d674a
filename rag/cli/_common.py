"""What every command shares: the options that pick the index, --json, JSON output and error translation."""
from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from rag.errors import RagError
from rag.vocab import EXIT_FATAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL

INDEX_KEYS = ("index_dir", "chroma_url", "collection", "ollama_host")
"""The options `index_options` adds (what `open_rag` passes to `RAG`)."""


def index_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options that pick the index: folder or Chroma server, and collection."""
    fn = click.option("--collection", envvar="RAG_COLLECTION", help="Collection name (default: default).")(fn)
    fn = click.option(
        "--chroma-url", envvar="RAG_CHROMA_URL", help="Use a Chroma server (http://HOST:PORT) instead of the embedded store."
    )(fn)
    fn = click.option(
        "--index",
        "index_dir",
        envvar="RAG_INDEX",
        type=click.Path(file_okay=False),
        help="Index folder (default: $RAG_INDEX, else the ollama-rag user dir + /index).",
    )(fn)
    return ollama_host_option(fn)


def ollama_host_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--ollama-host`: the Ollama server to talk to."""
    return click.option(
        "--ollama-host", envvar="OLLAMA_HOST", help="Ollama server (default: $OLLAMA_HOST or 127.0.0.1:11434)."
    )(fn)


def timeout_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--timeout`: the wall-clock deadline of each Ollama model call (settings `ollama_timeout_s`)."""
    return click.option(
        "--timeout", "ollama_timeout_s", envvar="RAG_OLLAMA_TIMEOUT", type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        help="Deadline of each Ollama call that runs a model (chat, embed; default 300); tags/show get 10.",
    )(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`--json`: print the result's to_dict() instead of text."""
    return click.option("--json", "json_", is_flag=True, help="Print JSON (the result's to_dict()).")(fn)


def print_json(data: Any) -> None:
    """Print one JSON document on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def fail(error: BaseException, *, json_: bool = False, code: int = EXIT_FATAL) -> None:
    """Report a user-facing error (text on stderr, or a JSON object on stdout with --json) and exit."""
    if os.environ.get("RAG_RAISE_ERRORS"):
        raise error
    if json_:
        print_json({"error": type(error).__name__, "message": str(error)})
    else:
        click.echo(f"Error: {error}", err=True)
    sys.exit(code)


def run_guarded(json_: bool, action: Callable[[], int | None]) -> None:
    """Run a command body, translating RagError into a clean message and exit code 2."""
    try:
        code = action()
    except RagError as exc:
        fail(exc, json_=json_)
    else:
        sys.exit(code or EXIT_OK)


def open_rag(options: dict[str, Any], **extra: Any) -> Any:
    """A `RAG` for the index options in `options`, with the non-None `extra` settings."""
    from rag.api import RAG

    return RAG(**{k: options.get(k) for k in INDEX_KEYS}, **{k: v for k, v in extra.items() if v is not None})


__all__ = [
    "EXIT_FATAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PARTIAL", "INDEX_KEYS", "fail", "index_options", "json_option",
    "ollama_host_option", "open_rag", "print_json", "run_guarded", "timeout_option",
]
