"""`rag index`. Exits 0 ok, 1 a file new or changed in this run was skipped (files still skipped from an earlier
run, unchanged, do not count), 2 nothing indexed or fatal,
130 interrupted (Ctrl-C; finished files are kept and the next run completes the rest)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from rag.cli._common import (
    EXIT_INTERRUPTED,
    index_options,
    json_option,
    open_rag,
    print_json,
    run_guarded,
    timeout_option,
)
from rag.cli._output import echo, sanitize
from rag.vocab import EMBED_BACKENDS

_SHOWN_REASONS = 50


class _Progress:
    """Progress on stderr: a bar weighted by work (pages, bytes) with the current file and an ETA on a terminal,
    else one line per file."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.started = time.monotonic()
        self.shown = 0

    def __call__(self, event: Any) -> None:
        if event.event == "message":
            echo(event.message, err=True)
        elif event.event == "start" and self.tty and event.files_total:
            self.bar = click.progressbar(
                length=max(event.work_total, 1),
                label="Indexing",
                file=sys.stderr,
                show_eta=True,
                show_percent=True,
                item_show_func=lambda item: sanitize(item) if item else item,
            )
            self.bar.update(0, _status(event, 0.0))
            self.started = time.monotonic()
        elif event.event == "page":
            if self.bar is not None:
                rate = event.chunks / max(time.monotonic() - self.started, 1e-9)
                self.bar.update(max(0, event.work_done - self.shown), _status(event, rate))
                self.shown = max(self.shown, event.work_done)
        elif event.event == "file":
            o = event.outcome
            if self.bar is not None:
                rate = event.chunks / max(time.monotonic() - self.started, 1e-9)
                self.bar.update(max(0, event.work_done - self.shown), _status(event, rate))
                self.shown = max(self.shown, event.work_done)
            elif not self.tty:
                extra = f" ({o.reason})" if o.reason else f" ({o.chunks} chunks)" if o.chunks else ""
                share = (
                    f", {100 * event.work_done // max(event.work_total, 1)}% of the work" if event.work_total else ""
                )
                echo(f"[{event.files_done}/{event.files_total}] {o.status} {o.source}{extra}{share}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


_STAGE_LABELS = {
    "text": "p. {done}/{total}",
    "ocr": "OCR p. {done}/{total}",
    "embed": "embedding {done}/{total} chunks",
}


def _status(event: Any, rate: float) -> str:
    """ "12/40 files, 830 chunks (95/s), now: docs/book.pdf p. 120/352" (or "OCR p. 3/40", "embedding 400/900
    chunks": where inside the current file the run is, from "page" events)."""
    now = f", now: {event.current}" if event.current else ""
    if event.event == "page" and event.stage in _STAGE_LABELS:
        now += " " + _STAGE_LABELS[event.stage].format(done=event.stage_done, total=event.stage_total)
    return f"{event.files_done}/{event.files_total} files, {event.chunks} chunks ({rate:.0f}/s){now}"


def _ignored_summary(ignored: list[Any]) -> str:
    """ "unsupported type .key, .numbers; binary file without an extension" (types grouped under one reason)."""
    types: dict[str, list[str]] = {}
    for o in ignored:
        head, _, suffix = (o.reason or "").partition(" type ")
        key, value = (head + " type", suffix) if suffix else (o.reason or "", "")
        if value not in types.setdefault(key, []):
            types[key].append(value)
    return "; ".join(f"{k} {', '.join(sorted(v))}" if any(v) else k for k, v in types.items())


def _headline(report: Any) -> str:
    """What the run did, in words that never claim more than happened."""
    where = f"collection {report.collection!r} ({report.embed_model}) in {report.seconds:.1f} s"
    if report.dry_run:
        return f"Would index {report.root} into {where}"
    if report.interrupted:
        return f"Partly indexed {report.root} into {where}"
    if report.indexed == 0 and report.removed == 0:
        return f"Indexed nothing from {report.root} ({where})"
    if report.added + report.updated + report.removed == 0:
        return f"{report.root} is up to date in {where}"
    return f"Indexed {report.root} into {where}"


def _print_report(report: Any) -> None:
    echo(_headline(report))
    echo(
        f"  added {report.added}, updated {report.updated}, removed {report.removed}, "
        f"unchanged {report.unchanged}, skipped {report.skipped}, ignored {report.ignored}"
    )
    if not report.dry_run:
        echo(f"  chunks: +{report.chunks_added} -{report.chunks_removed} ({report.chunks_per_s:.1f} chunks/s)")
    if report.orphans_removed or report.files_repaired:
        echo(
            f"  repaired after an interrupted run: {report.orphans_removed} orphan vectors deleted, "
            f"{report.files_repaired} files re-embedded"
        )
    ignored = [o for o in report.files if o.status == "ignored"]
    if ignored:
        echo(f"  {len(ignored)} ignored: {_ignored_summary(ignored)}")
    skipped = [o for o in report.files if o.status in ("skipped", "failed")]
    if skipped:
        still = (
            f" ({report.still_skipped} still skipped, unchanged since an earlier run)" if report.still_skipped else ""
        )
        echo(f"  skipped{still}:")
        for o in skipped[:_SHOWN_REASONS]:
            echo(f"    {o.source}: {o.reason}{' (still skipped)' if o.still else ''}")
        if len(skipped) > _SHOWN_REASONS:
            echo(f"    ... and {len(skipped) - _SHOWN_REASONS} more (see --json)")
    for warning in report.warnings:
        echo(f"Warning: {warning}", err=True)
    if report.interrupted:
        cause = report.error or "interrupted"
        echo(f"Stopped early: {cause}. Finished files are kept; run the same command again to complete.", err=True)
    elif report.indexed == 0 and report.removed == 0 and not report.dry_run:
        echo("Nothing was indexed: no readable files found.", err=True)


@click.command(name="index")
@click.argument("path", type=click.Path(exists=True))
@index_options
@click.option(
    "--embed-model", envvar="RAG_EMBED_MODEL", help="Embedding model (default: the collection's own, else all-minilm)."
)
@click.option(
    "--embed-backend",
    type=click.Choice(EMBED_BACKENDS),
    help="Embed through Ollama, the built-in all-minilm, or auto (Ollama when reachable).",
)
@click.option("--rebuild", is_flag=True, help="Drop the collection and re-embed everything (to switch model).")
@click.option("--dry-run", is_flag=True, help="Only report what would change; write nothing.")
@click.option("--no-wait", is_flag=True, help="Fail at once if another rag index holds the index (exit 2).")
@click.option(
    "--take-over",
    is_flag=True,
    help="Chroma server: own a folder another writer indexed (its chunks there are deleted first).",
)
@click.option(
    "--include", multiple=True, metavar="GLOB", help="Only index matching files (gitignore style; repeatable)."
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching files (gitignore style; repeatable).")
@click.option("--pdf-password", help="Password for encrypted PDFs.")
@click.option(
    "--max-file-mb", type=click.FloatRange(min=0, min_open=True), help="Skip files larger than this (default 50)."
)
@timeout_option
@json_option
def index_cmd(path: str, json_: bool, **options: Any) -> None:
    """Index the files under PATH (PDF, text, Markdown, HTML, Word, PowerPoint, Excel, CSV, EPUB) to ask about them.

    Re-running is incremental: unchanged files cost nothing, changed ones are re-embedded, deleted ones dropped.

    \b
    Example:
        rag index ~/Documents/manuals --exclude 'drafts/*'
    """
    max_mb = options.pop("max_file_mb")
    rag = open_rag(
        options,
        embed_model=options["embed_model"],
        embed_backend=options["embed_backend"],
        pdf_password=options["pdf_password"],
        ollama_timeout_s=options["ollama_timeout_s"],
        max_file_bytes=int(max_mb * 1024 * 1024) if max_mb is not None else None,
    )
    progress = _Progress()

    def action() -> int:
        try:
            report = rag.index(
                path,
                rebuild=options["rebuild"],
                dry_run=options["dry_run"],
                no_wait=options["no_wait"],
                progress=progress,
                include=options["include"],
                exclude=options["exclude"],
                take_over=options["take_over"],
            )
        except KeyboardInterrupt:  # before any file was written: nothing to summarise
            echo("Interrupted; run the same command again to complete.", err=True)
            return EXIT_INTERRUPTED
        finally:
            progress.close()
            rag.close()
        if json_:
            print_json(report.to_dict())
        else:
            _print_report(report)
        if report.interrupted and not report.error:
            return EXIT_INTERRUPTED
        return report.exit_code

    run_guarded(json_, action)
