"""The `rag` command: a thin layer that parses options, calls `rag.RAG`, and prints.

One module per command; each defines a `click.command` that is registered here with `add_command`. Shared options
and error translation live in `_common`.
"""
from __future__ import annotations

import click

from rag._version import __version__
from rag.cli.ask import ask_cmd
from rag.cli.chat import chat_cmd
from rag.cli.doctor import doctor_cmd
from rag.cli.eval import eval_cmd
from rag.cli.index import index_cmd
from rag.cli.models import models_cmd
from rag.cli.pull import pull_cmd
from rag.cli.remove import remove_cmd
from rag.cli.serve import serve_cmd
from rag.cli.status import status_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rag")
def cli() -> None:
    """Cited, verifiable answers over your own documents, with Ollama and Chroma.

    \b
    Quickstart:
        rag index sample_docs
        rag ask "What does /api/embed return?"
    """


for _command in (index_cmd, status_cmd, remove_cmd, ask_cmd, chat_cmd, eval_cmd, doctor_cmd, models_cmd, pull_cmd):
    cli.add_command(_command)
cli.add_command(serve_cmd)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="rag")


__all__ = ["cli", "main"]
