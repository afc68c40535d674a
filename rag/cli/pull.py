"""`rag pull`: download a model into Ollama, with progress."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import click

from rag.cli._common import EXIT_FATAL, EXIT_OK, ollama_host_option, run_guarded
from rag.cli._ollama import open_client
from rag.cli._output import echo, echo_raw, json_text
from rag.cli.models import human_size
from rag.errors import OllamaError, OllamaUnreachable, RagError

if TYPE_CHECKING:
    from rag.ollama import Client, PullProgress

UNKNOWN_MODEL = (
    "Cannot pull {model!r}: {reason}. Check the name (and tag) at https://ollama.com/library; "
    "`rag models` lists what is installed."
)


@dataclass
class PullState:
    """Aggregates /api/pull progress: bytes per layer digest, in first-seen order, and the statuses seen."""

    layers: dict[str, tuple[int, int]] = field(default_factory=dict)
    """digest -> (completed bytes, total bytes)."""
    statuses: list[str] = field(default_factory=list)
    """Distinct status lines in order ("pulling manifest", ..., "success")."""

    def feed(self, event: PullProgress) -> bool:
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
            self.bar = click.progressbar(
                length=total, label=f"pulling {label}", file=self.stream, show_percent=True, show_pos=False
            )
            self.bar.__enter__()
        if done > self.shown:
            self.bar.update(done - self.shown)
            self.shown = done

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def pull_model(client: Client, model: str, on_event: Callable[[PullProgress, PullState, bool], None]) -> PullState:
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
        raise RagError(
            f'The pull of {model!r} ended without "success" (last status: '
            f"{state.statuses[-1] if state.statuses else 'none'}). Run `rag pull {model}` again: "
            "Ollama resumes where it stopped."
        )
    return state


@click.command(name="pull")
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

    def show(event: PullProgress, state: PullState, new_status: bool) -> None:
        if json_:
            echo_raw(json_text(event.to_dict(), indent=None))
        elif tty and event.digest and event.total:
            bars.update(event.digest, *state.layers[event.digest])
        elif new_status:
            bars.finish()
            echo(event.status, err=True)

    def run() -> int:
        with open_client(ollama_host) as client:
            try:
                state = pull_model(client, name, show)
            except RagError as exc:
                if not json_:
                    raise
                echo_raw(json_text({"error": type(exc).__name__, "message": str(exc)}, indent=None))
                return EXIT_FATAL  # one NDJSON line, not the indented object run_guarded prints
            finally:
                bars.finish()
        if not json_:
            echo(f"Pulled {name} ({human_size(state.total)}).")
        return EXIT_OK

    run_guarded(json_, run)
