"""`rag index`. `rag index` exits 0 ok, 1 some files skipped, 2 nothing indexed or fatal,
130 interrupted (Ctrl-C; finished files are kept and the next run completes the rest)."""
from __future__ import annotations

import sys
import time
from typing import Any

import click

from rag.cli._common import EXIT_INTERRUPTED, index_options, json_option, open_rag, print_json, run_guarded
from rag.vocab import EMBED_BACKENDS

_SHOWN_REASONS = 50


class _Progress:
    """Progress on stderr: a bar (files, chunks, rate, ETA) on a terminal, else one line per file."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.bar: Any = None
        self.started = time.monotonic()

    def __call__(self, event: Any) -> None:
        if event.event == "message":
            click.echo(event.message, err=True)
        elif event.event == "start" and self.tty and event.files_total:
            self.bar = click.progressbar(length=event.files_total, label="Indexing", file=sys.stderr, show_eta=True,
                                         show_pos=True, item_show_func=lambda item: item)
            self.bar.render_progress()
            self.started = time.monotonic()
        elif event.event == "file":
            o = event.outcome
            if self.bar is not None:
                rate = event.chunks / max(time.monotonic() - self.started, 1e-9)
                self.bar.update(1, f"{event.chunks} chunks, {rate:.0f} chunks/s")
            elif not self.tty:
                extra = f" ({o.reason})" if o.reason else f" ({o.chunks} chunks)" if o.chunks else ""
                click.echo(f"[{event.files_done}/{event.files_total}] {o.status} {o.source}{extra}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None


def _print_report(report: Any) -> None:
    verb = "Would index" if report.dry_run else "Indexed"
    click.echo(f"{verb} {report.root} into collection {report.collection!r} ({report.embed_model}) "
               f"in {report.seconds:.1f} s")
    click.echo(f"  added {report.added}, updated {report.updated}, removed {report.removed}, "
               f"unchanged {report.unchanged}, skipped {report.skipped}")
    if not report.dry_run:
        click.echo(f"  chunks: +{report.chunks_added} -{report.chunks_removed} ({report.chunks_per_s:.1f} chunks/s)")
    if report.orphans_removed or report.files_repaired:
        click.echo(f"  repaired after an interrupted run: {report.orphans_removed} orphan vectors deleted, "
                   f"{report.files_repaired} files re-embedded")
    skipped = [o for o in report.files if o.status in ("skipped", "failed")]
    if skipped:
        click.echo("  skipped:")
        for o in skipped[:_SHOWN_REASONS]:
            click.echo(f"    {o.source}: {o.reason}")
        if len(skipped) > _SHOWN_REASONS:
            click.echo(f"    ... and {len(skipped) - _SHOWN_REASONS} more (see --json)")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if report.interrupted:
        cause = report.error or "interrupted"
        click.echo(f"Stopped early: {cause}. Finished files are kept; run the same command again to complete.", err=True)
    elif report.indexed == 0 and report.removed == 0 and not report.dry_run:
        click.echo("Nothing was indexed: no readable files found.", err=True)


@click.command(name="index")
@click.argument("path", type=click.Path(exists=True))
@index_options
@click.option("--embed-model", envvar="RAG_EMBED_MODEL",
              help="Embedding model (default: the collection's own, else all-minilm).")
@click.option("--embed-backend", type=click.Choice(EMBED_BACKENDS),
              help="Embed through Ollama, the built-in all-minilm, or auto (Ollama when reachable).")
@click.option("--rebuild", is_flag=True, help="Drop the collection and re-embed everything (to switch model).")
@click.option("--dry-run", is_flag=True, help="Only report what would change; write nothing.")
@click.option("--no-wait", is_flag=True, help="Fail at once if another rag index holds the index (exit 2).")
@click.option("--take-over", is_flag=True,
              help="Chroma server: own a folder another writer indexed (its chunks there are deleted first).")
@click.option("--include", multiple=True, metavar="GLOB", help="Only index matching files (gitignore style; repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching files (gitignore style; repeatable).")
@click.option("--pdf-password", help="Password for encrypted PDFs.")
@click.option("--max-file-mb", type=click.FloatRange(min=0, min_open=True), help="Skip files larger than this (default 50).")
@json_option
def index_cmd(path: str, json_: bool, **options: Any) -> None:
    """Index the files under PATH (PDF, text, Markdown, HTML) so you can ask about them.

    Re-running is incremental: unchanged files cost nothing, changed ones are re-embedded, deleted ones dropped.

    \b
    Example:
        rag index ~/Documents/manuals --exclude 'drafts/*'
    """
    max_mb = options.pop("max_file_mb")
    rag = open_rag(options, embed_model=options["embed_model"], embed_backend=options["embed_backend"],
                pdf_password=options["pdf_password"],
                max_file_bytes=int(max_mb * 1024 * 1024) if max_mb is not None else None)
    progress = _Progress()

    def action() -> int:
        try:
            report = rag.index(path, rebuild=options["rebuild"], dry_run=options["dry_run"],
                               no_wait=options["no_wait"], progress=progress, include=options["include"],
                               exclude=options["exclude"], take_over=options["take_over"])
        except KeyboardInterrupt:  # before any file was written: nothing to summarise
            click.echo("Interrupted; run the same command again to complete.", err=True)
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
