"""`rag remove`: drop a file or folder from the index."""

from __future__ import annotations

from typing import Any

import click

from rag.cli._common import EXIT_FATAL, index_options, json_option, open_rag, print_json, run_guarded
from rag.cli._output import echo, plural


@click.command(name="remove")
@click.argument("path")
@index_options
@click.option("--no-wait", is_flag=True, help="Fail at once if another rag index holds the index (exit 2).")
@json_option
def remove_cmd(path: str, json_: bool, no_wait: bool, **options: Any) -> None:
    """Drop a file or folder from the index: a path under an indexed folder, or a source as shown in citations.

    \b
    Example:
        rag remove ~/Documents/manuals/old
    """
    rag = open_rag(options)

    def action() -> int:
        with rag:
            report = rag.remove(path, no_wait=no_wait)
        if json_:
            print_json(report.to_dict())
        else:
            counts = f"{plural(len(report.files), 'file')} ({plural(report.chunks_removed, 'chunk')})"
            echo(f"Removed {counts} under {report.path} from collection {report.collection!r}")
        return 0 if report.files else EXIT_FATAL

    run_guarded(json_, action)
