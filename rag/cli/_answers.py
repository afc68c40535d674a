"""What `ask` and `chat` share: answer options, opening the answering `RAG`, and printing answers and sources."""

from __future__ import annotations

import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from rag.cli._output import echo, echo_raw, file_link, json_text, links_supported, sanitize
from rag.vocab import EMBED_BACKENDS, FILE_TYPES, RETRIEVAL_MODES

EXTRACTIVE_NOTE = "(extractive: sentences quoted from the sources; no chat model was used)"
_SEARCH_KEYS = ("k", "mode", "path", "file_types", "mmr", "min_score")


def answer_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `ask` and `chat`: retrieval, models, prompts, strictness."""
    decorators = [
        click.option(
            "-k",
            "k",
            type=click.IntRange(1, 100),
            help="Chunks to retrieve (default: the top_k setting, 6; see `rag config show`).",
        ),
        click.option(
            "--mode",
            type=click.Choice(RETRIEVAL_MODES),
            default="hybrid",
            show_default=True,
            help="Retrieval: dense + BM25 fused, or one leg.",
        ),
        click.option("--path", help="Only sources matching this glob, e.g. '*.pdf' or 'manuals/*'."),
        click.option(
            "--type",
            "file_types",
            multiple=True,
            type=click.Choice(FILE_TYPES),
            help="Only these file types (repeatable).",
        ),
        click.option(
            "--mmr", type=click.FloatRange(0, 1), help="Diversify hits by MMR with this lambda (1 = relevance only)."
        ),
        click.option(
            "--chat-model",
            envvar="RAG_CHAT_MODEL",
            help="Ollama chat model, gguf:PATH, or 'none' for extractive answers (default llama3.2).",
        ),
        click.option("--embed-model", envvar="RAG_EMBED_MODEL", help="Embedding model (queries use the index's own)."),
        click.option(
            "--embed-backend",
            type=click.Choice(EMBED_BACKENDS),
            help="Embed the query through Ollama, the built-in all-minilm (in-process, never waits behind "
            "a chat call), or auto (default; also RAG_EMBED_BACKEND).",
        ),
        click.option(
            "--strict", is_flag=True, default=None, help="Drop citations whose quote is not found in the source."
        ),
        click.option(
            "--prompts",
            "prompts_dir",
            type=click.Path(file_okay=False, exists=True, path_type=Path),
            help="Folder whose prompt files (system.txt, user.txt, ...) override the shipped ones.",
        ),
        click.option(
            "--min-score",
            type=float,
            help="Abstain when no passage is at least this similar to the question (dense cosine, 0-1; "
            "default: the min_score setting, 0.25).",
        ),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def open_answering(options: dict[str, Any]) -> Any:
    """The `RAG` for ask/chat/eval: index options plus model settings; None values fall through to env/config."""
    from rag.api import RAG

    settings = {
        k: options.get(k)
        for k in (
            "index_dir",
            "chroma_url",
            "collection",
            "embed_model",
            "chat_model",
            "ollama_host",
            "strict",
            "prompts_dir",
            "embed_backend",
            "ollama_timeout_s",
        )
    }
    return RAG(**{k: v for k, v in settings.items() if v is not None})


def prepare(rag: Any, options: dict[str, Any]) -> None:
    """Check the chat model before the first question (a typo or an embedding model is an error naming the fix)."""
    from rag.cli._models import check_chat_model

    check_chat_model(rag, explicit=options.get("chat_model") is not None)


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    search = {k: options.get(k) for k in _SEARCH_KEYS}
    search["file_types"] = tuple(search["file_types"] or ()) or None
    return search


def print_warnings(answer: Any, seen: set[str] | None = None) -> None:
    """Print the answer's warnings on stderr; those in `seen` are skipped (and new ones added): once per chat."""
    for warning in answer.warnings:
        if seen is not None:
            if warning in seen:
                continue
            seen.add(warning)
        echo(f"Warning: {warning}", err=True)


def format_sources(
    answer: Any, paths: dict[str, str] | None = None, *, links: bool = False, closest: bool = False
) -> list[str]:
    """The numbered source lines of an answer: `[1] docs/manual.pdf p. 3-4 (unverified)` and the quote; with
    `closest`, those of its closest passages (`Answer.closest`) instead.

    With `links`, the source name is an OSC 8 link to the file (our only escape; the text itself is sanitised)."""
    from rag.answer.citations import page_label

    paths = paths or {}
    lines = []
    for c in answer.closest if closest else answer.citations:
        name = file_link(c.source, paths.get(c.source), enabled=links)
        where = " ".join(p for p in (name, page_label(c.page_start, c.page_end, c.ocr)) if p)
        heading = sanitize(f" § {' > '.join(c.heading_path)}") if c.heading_path else ""
        mark = "" if c.verified else " (unverified)"
        lines.append(f"[{c.n}] {where}{heading}{mark}")
        if c.quote:
            lines.append(sanitize(f'    "{" ".join(c.quote.split())}"'))
    return lines


def wrap(text: str, width: int | None = None) -> str:
    """Long answer lines wrapped to the terminal (paragraphs and list items kept), only when stdout is a terminal."""
    if width is None:
        if not sys.stdout.isatty():
            return text
        width = min(shutil.get_terminal_size((100, 24)).columns, 120) - 1
    out = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        out.append(
            textwrap.fill(
                line, width=width, subsequent_indent=" " * indent, break_long_words=False, break_on_hyphens=False
            )
            if len(line) > width
            else line
        )
    return "\n".join(out)


def print_answer(answer: Any, *, body: bool = True, paths: dict[str, str] | None = None) -> None:
    if body:
        label = "(extractive) " if answer.mode == "extractive" else ""
        echo(wrap(sanitize(f"{label}{answer.answer}")))
    sources = format_sources(answer, paths, links=links_supported())
    if sources:
        echo("\nSources:")
        for line in sources:
            echo_raw(line)
    closest = format_sources(answer, paths, links=links_supported(), closest=True)
    if closest:
        from rag.answer.types import CLOSEST_HEADING

        echo(f"\n{CLOSEST_HEADING}")
        for line in closest:
            echo_raw(line)


def print_stream(
    items: Iterator[Any],
    json_: bool,
    *,
    before_text: Callable[[], None] = lambda: None,
    paths_for: Callable[[Any], dict[str, str]] = lambda answer: {},
    warn: Callable[[Any], None] = print_warnings,
) -> Any:
    """Print streamed pieces (text, or NDJSON {"delta": ...} lines), then the sources; return the final Answer.

    `before_text` runs once before the first piece (erases the status line); `paths_for(answer)` maps sources to
    absolute paths (JSON `path` fields, file links)."""
    from rag.answer.types import REVISED_HEADING, Answer, streamed_text
    from rag.cli._paths import with_paths

    printed = False
    streamed: list[str] = []
    for item in items:
        if isinstance(item, Answer):
            before_text()
            paths = paths_for(item)
            warn(item)
            if json_:
                echo_raw(json_text(with_paths(item.to_dict(), paths), indent=None))
            else:
                if printed:
                    echo()
                if printed and item.mode == "extractive":
                    echo(EXTRACTIVE_NOTE)
                changed = streamed_text(item) != " ".join("".join(streamed).split())
                revised = printed and item.mode == "generative" and changed
                if revised:
                    echo(f"\n\n{REVISED_HEADING}")
                print_answer(item, body=not printed or revised, paths=paths)
            return item
        if not printed and item:
            before_text()
        if json_:
            echo_raw(json_text({"delta": item}, indent=None))
        else:
            echo(item, nl=False)
            sys.stdout.flush()
        streamed.append(item)
        printed = printed or bool(item)
    raise AssertionError("the answer stream ended without an Answer")  # pragma: no cover


__all__ = [
    "EXTRACTIVE_NOTE",
    "answer_options",
    "format_sources",
    "open_answering",
    "prepare",
    "print_answer",
    "print_stream",
    "print_warnings",
    "search_options",
    "wrap",
]
