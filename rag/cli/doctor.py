"""`rag doctor`: what works, what is missing, and how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from rag.cli._common import index_options, json_option, print_json, run_guarded
from rag.cli._output import echo

if TYPE_CHECKING:
    pass

_LEVEL_MARK = {"ok": "ok", "warning": "WARN", "error": "FAIL"}


@click.command(name="doctor")
@index_options
@click.option("--embed-model", envvar="RAG_EMBED_MODEL", help="Embedding model to check (default all-minilm).")
@click.option(
    "--embed-backend",
    type=click.Choice(["auto", "ollama", "builtin"]),
    help="Embedding backend to check (default auto: Ollama when reachable, else built-in).",
)
@click.option("--chat-model", envvar="RAG_CHAT_MODEL", help="Chat model to check: Ollama name, gguf:PATH or 'none'.")
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings (default: warnings still exit 0).")
@json_option
def doctor_cmd(json_: bool, strict: bool, **options: Any) -> None:
    """Check the setup: Ollama, models, index, Chroma, built-in embedder.

    Each check prints ok, WARN or FAIL, with the fix. Ollama being down is a
    warning: the built-in embedder and extractive answers still work.

    \b
    Exit codes:
        0  ready (warnings allowed)
        1  warnings, with --strict
        2  something needed is missing or broken

    \b
    Example:
        rag doctor --chat-model llama3.2
    """
    from rag.api import RAG

    def run() -> int:
        with RAG(**options) as rag:
            report = rag.doctor()
        if json_:
            print_json(report.to_dict())
        else:
            _print_report(report)
        return report.exit_code(strict)

    run_guarded(json_, run)


def _print_report(report: Any) -> None:
    width = max(len(c.name) for c in report.checks)
    for check in report.checks:
        echo(f"{_LEVEL_MARK[check.level]:<4}  {check.name:<{width}}  {check.detail}")
        if check.fix:
            echo(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    if report.errors:
        summary = f"Broken: {report.errors} error(s), {report.warnings} warning(s)."
    elif report.warnings:
        summary = f"Ready, with {report.warnings} warning(s)."
    else:
        summary = "Ready."
    echo(summary)
