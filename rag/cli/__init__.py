"""The `rag` command: a thin layer that parses options, calls `rag.RAG`, and prints.

One module per command; each defines a `click.command` that is registered here with `add_command`. Shared options
and error translation live in `_common`.
"""

from __future__ import annotations

import click

from rag._version import __version__
from rag.cli._common import RagGroup
from rag.cli.ask import ask_cmd
from rag.cli.chat import chat_cmd
from rag.cli.config import config_cmd
from rag.cli.doctor import doctor_cmd
from rag.cli.eval import eval_cmd
from rag.cli.index import index_cmd
from rag.cli.models import models_cmd
from rag.cli.open import open_cmd
from rag.cli.pull import pull_cmd
from rag.cli.remove import remove_cmd
from rag.cli.serve import serve_cmd
from rag.cli.status import status_cmd


@click.group(cls=RagGroup, context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="rag")
@click.option("-v", "--verbose", is_flag=True, help="Print the traceback of an unexpected error (also RAG_DEBUG=1).")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Cited, verifiable answers over your own documents, with Ollama and Chroma.

    \b
    Quickstart (a separate collection, so the tour leaves your own index alone):
        rag index sample_docs --collection tour
        rag ask "What does /api/embed return?" --collection tour
        rag remove sample_docs --collection tour
    """
    ctx.ensure_object(dict)["verbose"] = verbose
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@click.command(name="help")
@click.argument("command", nargs=-1)
@click.pass_context
def help_cmd(ctx: click.Context, command: tuple[str, ...]) -> None:
    """Show the help of COMMAND (or of `rag`).

    \b
    Example:
        rag help ask
    """
    group = ctx.find_root().command
    target: click.Command = group
    names = ["rag"]
    for name in command:
        sub = target.get_command(ctx, name) if isinstance(target, click.Group) else None
        if sub is None:
            raise click.UsageError(f"No such command {name!r}. Run `rag help` for the list.", ctx)
        target, names = sub, [*names, name]
    with click.Context(target, info_name=" ".join(names), parent=None) as sub_ctx:
        click.echo(target.get_help(sub_ctx))


for _command in (
    index_cmd,
    status_cmd,
    remove_cmd,
    ask_cmd,
    chat_cmd,
    open_cmd,
    eval_cmd,
    doctor_cmd,
    models_cmd,
    pull_cmd,
    config_cmd,
    help_cmd,
):
    cli.add_command(_command)
cli.add_command(serve_cmd)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="rag")


__all__ = ["cli", "main"]
