"""Commands: index, status, remove (not yet available: placeholders until their issue lands)."""
from __future__ import annotations

import click

from rag.cli import EXIT_FATAL, cli


@cli.command(name="index", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def index_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag index: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)


@cli.command(name="status", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def status_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag status: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)


@cli.command(name="remove", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def remove_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag remove: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)
