"""Commands: doctor, models, pull (not yet available: placeholders until their issue lands)."""
from __future__ import annotations

import click

from rag.cli import EXIT_FATAL, cli


@cli.command(name="doctor", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def doctor_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag doctor: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)


@cli.command(name="models", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def models_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag models: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)


@cli.command(name="pull", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def pull_cmd(args: tuple[str, ...]) -> None:
    """Not yet available."""
    click.echo("rag pull: not yet available", err=True)
    raise SystemExit(EXIT_FATAL)
