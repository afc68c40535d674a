"""Commands: ask, chat (not yet available: placeholders until their issue lands)."""
from __future__ import annotations

import click

from rag.cli import EXIT_FATAL, cli


@cli.command(name="ask", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ask_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag ask: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)


@cli.command(name="chat", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def chat_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag chat: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)
