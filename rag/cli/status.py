"""`rag status`: where the index lives and what each collection holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from rag.cli._common import index_options, json_option, open_rag, print_json, run_guarded
from rag.cli._output import echo


@click.command(name="status")
@index_options
@json_option
def status_cmd(json_: bool, **options: Any) -> None:
    """Show where the index, catalogs and config live and, per collection, its model, files, chunks, folders and last
    index time.

    \b
    Example:
        rag status --json
    """
    rag = open_rag(options)

    def action() -> int:
        with rag:
            status = rag.status()
        if json_:
            print_json(status.to_dict())
            return 0
        echo(f"Index folder: {status.index_dir}")
        if status.chroma_url:
            echo(f"Chroma:       server {status.chroma_url}")
        else:
            echo(f"Chroma:       embedded, {status.chroma_path}")
        echo(f"Catalogs:     {status.catalog_dir}")
        echo(f"User folder:  {status.user_dir} (config and chat history)")
        missing = "" if Path(status.config_path).is_file() else " (none yet: `rag config set KEY VALUE` creates it)"
        echo(f"Config file:  {status.config_path}{missing}")
        echo(f"Writer:       {f'pid {status.locked_by} is indexing' if status.locked_by else 'none running'}")
        if not status.collections:
            echo("No collections yet. Run `rag index FOLDER`.")
        for c in status.collections:
            vectors = "" if c.vectors == c.chunks or c.vectors is None else f", {c.vectors} vectors in Chroma"
            echo(f"Collection {c.name!r}: {c.files} files, {c.chunks} chunks{vectors}")
            echo(
                f"  model {c.model} ({c.dimension} dims, {c.backend or 'unknown backend'}), "
                f"chunks of {c.chunk_tokens} tokens / {c.chunk_overlap} overlap"
            )
            echo(f"  last indexed {c.updated_at or 'never'}")
            for root in c.roots:
                echo(f"  folder {root}")
            if c.stale_files:
                echo(f"  {c.stale_files} files wait for re-embedding: run `rag index` on their folder")
            if c.store_error:
                echo(f"  warning: {c.store_error}")
        return 0

    run_guarded(json_, action)
