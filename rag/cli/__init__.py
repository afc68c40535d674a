"""The `rag` command: a thin layer that parses options, calls `rag.RAG`, and prints.

Command groups live in sibling modules (index_cmd, ask_cmd, model_cmd, eval_cmd); each registers on `cli`.
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import click

from rag import __version__
from rag.errors import RagError

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_FATAL = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rag")
def cli() -> None:
    """Cited, verifiable answers over your own documents, with Ollama and Chroma.

    \b
    Quickstart:
        rag index sample_docs
        rag ask "What does /api/embed return?"
    """


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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="rag")


# Register command groups (import for side effects).
from rag.cli import ask_cmd, eval_cmd, index_cmd, model_cmd  # noqa: E402,F401
