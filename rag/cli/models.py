"""`rag models`: the models installed in Ollama, and which ones embed or chat."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from rag.cli._common import EXIT_OK, json_option, ollama_host_option, print_json, run_guarded
from rag.cli._ollama import open_client
from rag.cli._output import echo

if TYPE_CHECKING:
    from rag.ollama import ModelInfo


def human_size(n: int) -> str:
    """Bytes in decimal units, as Ollama prints them.

    >>> human_size(2_019_393_189), human_size(45_960_996), human_size(999)
    ('2.0 GB', '46 MB', '999 B')
    """
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} B"


@click.command(name="models")
@ollama_host_option
@json_option
def models_cmd(ollama_host: str | None, json_: bool) -> None:
    """List the models installed on the Ollama server.

    Columns: name, size, family, parameter size, quantization, modified.

    \b
    Example:
        rag models --json
    """

    def run() -> int:
        with open_client(ollama_host) as client:
            models = client.tags()
        if json_:
            print_json([m.to_dict() | {"size_human": human_size(m.size)} for m in models])
        elif not models:
            echo("No models installed. Try `rag pull llama3.2` and `rag pull all-minilm`.", err=True)
        else:
            _print_table(models)
        return EXIT_OK

    run_guarded(json_, run)


def _print_table(models: list[ModelInfo]) -> None:
    header = ("NAME", "SIZE", "FAMILY", "PARAMS", "QUANT", "MODIFIED")
    rows = [
        (
            m.name or m.model,
            human_size(m.size),
            m.family,
            m.parameter_size,
            m.quantization_level,
            m.modified_at[:19].replace("T", " "),
        )
        for m in sorted(models, key=lambda m: m.name or m.model)
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
