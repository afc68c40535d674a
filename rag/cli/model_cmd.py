"""Commands: doctor, models, pull."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TextIO

import click

from rag.cli import EXIT_FATAL, EXIT_OK, cli, index_options, json_option, ollama_host_option, print_json, run_guarded
from rag.errors import OllamaError, OllamaUnreachable, RagError

if TYPE_CHECKING:
    from rag.ollama import Client, ModelInfo, PullProgress

UNKNOWN_MODEL = (
    "Cannot pull {model!r}: {reason}. Check the name (and tag) at https://ollama.com/library; "
    "`rag models` lists what is installed."
)
_LEVEL_MARK = {"ok": "ok", "warning": "WARN", "error": "FAIL"}


def _client(ollama_host: str | None) -> "Client":
    from rag.ollama import Client

    return Client(ollama_host)


# ---- doctor ----


@cli.command(name="doctor")
@index_options
@click.option("--embed-model", envvar="RAG_EMBED_MODEL", help="Embedding model to check (default all-minilm).")
@click.option("--embed-backend", type=click.Choice(["auto", "ollama", "builtin"]),
              help="Embedding backend to check (default auto: Ollama when reachable, else built-in).")
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
    from rag import RAG

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
        click.echo(f"{_LEVEL_MARK[check.level]:<4}  {check.name:<{width}}  {check.detail}")
        if check.fix:
            click.echo(f"{'':<4}  {'':<{width}}  fix: {check.fix}")
    if report.errors:
        summary = f"Broken: {report.errors} error(s), {report.warnings} warning(s)."
    elif report.warnings:
        summary = f"Ready, with {report.warnings} warning(s)."
    else:
        summary = "Ready."
    click.echo(summary)


# ---- models ----


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


@cli.command(name="models")
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
        with _client(ollama_host) as client:
            models = client.tags()
        if json_:
            print_json([m.to_dict() | {"size_human": human_size(m.size)} for m in models])
        elif not models:
            click.echo("No models installed. Try `rag pull llama3.2` and `rag pull all-minilm`.", err=True)
        else:
            _print_table(models)
        return EXIT_OK

    run_guarded(json_, run)


def _print_table(models: "list[ModelInfo]") -> None:
    header = ("NAME", "SIZE", "FAMILY", "PARAMS", "QUANT", "MODIFIED")
    rows = [(m.name or m.model, human_size(m.size), m.family, m.parameter_size, m.quantization_level,
             m.modified_at[:19].replace("T", " ")) for m in sorted(models, key=lambda m: m.name or m.model)]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())


# ---- pull ----


@dataclass
class PullState:
    """Aggregates /api/pull progress: bytes per layer digest, in first-seen order, and the statuses seen."""

    layers: dict[str, tuple[int, int]] = field(default_factory=dict)
    """digest -> (completed bytes, total bytes)."""
    statuses: list[str] = field(default_factory=list)
    """Distinct status lines in order ("pulling manifest", ..., "success")."""

    def feed(self, event: "PullProgress") -> bool:
        """Record one event; True when its status line is new."""
        if event.digest and event.total:
            done = min(event.completed or 0, event.total)
            previous = self.layers.get(event.digest, (0, event.total))[0]
            self.layers[event.digest] = (max(done, previous), event.total)
        new = bool(event.status) and (not self.statuses or self.statuses[-1] != event.status)
        if new and not (event.digest and event.status in self.statuses):
            self.statuses.append(event.status)
            return True
        return False

    @property
    def completed(self) -> int:
        return sum(done for done, _ in self.layers.values())

    @property
    def total(self) -> int:
        return sum(total for _, total in self.layers.values())

    @property
    def success(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == "success"


class _Bars:
    """One click progress bar per layer digest on a terminal (stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.digest: str | None = None
        self.bar: Any = None
        self.shown = 0

    def update(self, digest: str, done: int, total: int) -> None:
        if digest != self.digest:
            self.finish()
            self.digest, self.shown = digest, 0
            label = digest.removeprefix("sha256:")[:12]
            self.bar = click.progressbar(length=total, label=f"pulling {label}", file=self.stream,
                                         show_percent=True, show_pos=False)
            self.bar.__enter__()
        if done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def pull_model(client: "Client", model: str, on_event: Callable[["PullProgress", PullState, bool], None]) -> PullState:
    """Pull `model`, calling on_event(event, state, new_status) per progress line. Raises RagError for an unknown
    model (with the fix) and OllamaError/OllamaUnreachable otherwise."""
    state = PullState()
    try:
        for event in client.pull(model):
            on_event(event, state, state.feed(event))
    except OllamaUnreachable:
        raise
    except OllamaError as exc:
        if "file does not exist" in exc.error or "not found" in exc.error:
            raise RagError(UNKNOWN_MODEL.format(model=model, reason=exc.error)) from exc
        raise
    if not state.success:
        raise RagError(f"The pull of {model!r} ended without \"success\" (last status: "
                       f"{state.statuses[-1] if state.statuses else 'none'}). Run `rag pull {model}` again: "
                       "Ollama resumes where it stopped.")
    return state


@cli.command(name="pull")
@click.argument("name")
@ollama_host_option
@click.option("--json", "json_", is_flag=True, help="Print each progress event as one JSON object per line (NDJSON).")
def pull_cmd(name: str, ollama_host: str | None, json_: bool) -> None:
    """Download a model into Ollama (POST /api/pull), with progress.

    On a terminal, a progress bar per layer on stderr; otherwise one line
    per status. Exit 2 for an unknown model or when Ollama is down.

    \b
    Example:
        rag pull llama3.2
    """
    tty = sys.stderr.isatty()
    bars = _Bars(sys.stderr)

    def show(event: "PullProgress", state: PullState, new_status: bool) -> None:
        if json_:
            click.echo(json.dumps(event.to_dict(), ensure_ascii=False))
        elif tty and event.digest and event.total:
            bars.update(event.digest, *state.layers[event.digest])
        elif new_status:
            bars.finish()
            click.echo(event.status, err=True)

    def run() -> int:
        with _client(ollama_host) as client:
            try:
                state = pull_model(client, name, show)
            except RagError as exc:
                if not json_:
                    raise
                click.echo(json.dumps({"error": type(exc).__name__, "message": str(exc)}, ensure_ascii=False))
                return EXIT_FATAL  # one NDJSON line, not the indented object run_guarded prints
            finally:
                bars.finish()
        if not json_:
            click.echo(f"Pulled {name} ({human_size(state.total)}).")
        return EXIT_OK

    run_guarded(json_, run)
