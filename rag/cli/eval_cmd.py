"""Commands: eval (not yet available: placeholders until their issue lands)."""
from __future__ import annotations

import click

from rag.cli import EXIT_FATAL, cli


@cli.command(name="eval", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def eval_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag eval: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)
