"""`rag open N`: open the file of source [N] of the last answer (or print its path)."""

from __future__ import annotations

from pathlib import Path

import click

from rag.cli._common import run_guarded
from rag.cli._output import echo
from rag.errors import ConfigError

NO_LAST_ANSWER = "No answer to open a source of yet: run `rag ask QUESTION` first."


@click.command(name="open")
@click.argument("n", type=click.IntRange(min=1))
@click.option("--print", "print_only", is_flag=True, help="Only print the absolute path.")
@click.option(
    "--index",
    "index_dir",
    envvar="RAG_INDEX",
    type=click.Path(file_okay=False),
    help="Index folder the answer came from (default: as for `rag ask`).",
)
def open_cmd(n: int, print_only: bool, index_dir: str | None) -> None:
    """Open source [N] of the last answer (from `rag ask` or `rag chat`) with the system's default viewer.

    \b
    Example:
        rag open 1
    """

    def action() -> int:
        from rag.cli._paths import load_last
        from rag.config import Settings

        last = load_last(Path(Settings.resolve(index_dir=index_dir).index_dir or "."))
        if not last or not last.get("citations"):
            raise ConfigError(NO_LAST_ANSWER)
        rows = {row.get("n"): row for row in last["citations"]}
        row = rows.get(n)
        if row is None:
            raise ConfigError(f"The last answer has sources 1-{max(rows)}; there is no [{n}].")
        path = row.get("path")
        if not path or not Path(path).exists():
            raise ConfigError(
                f"Source [{n}] {row.get('source')} is not on disk any more{f' (it was {path})' if path else ''}."
            )
        page = f" (page {row['page']})" if row.get("page") else ""
        echo(f"{path}{page}")
        if not print_only:
            click.launch(path)
        return 0

    run_guarded(False, action)


__all__ = ["NO_LAST_ANSWER", "open_cmd"]
