"""What `ask` and `chat` share: answer options, opening the answering `RAG`, and printing answers and sources."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from rag.cli._output import echo, echo_raw, json_text
from rag.vocab import FILE_TYPES, RETRIEVAL_MODES

EXTRACTIVE_NOTE = "(extractive: sentences quoted from the sources; no chat model was used)"
_SEARCH_KEYS = ("k", "mode", "path", "file_types", "mmr", "min_score")


def answer_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `ask` and `chat`: retrieval, models, prompts, strictness."""
    decorators = [
        click.option("-k", "k", type=click.IntRange(1, 100), help="Chunks to retrieve (default 6, or settings)."),
        click.option("--mode", type=click.Choice(RETRIEVAL_MODES), default="hybrid", show_default=True,
                     help="Retrieval: dense + BM25 fused, or one leg."),
        click.option("--path", help="Only sources matching this glob, e.g. '*.pdf' or 'manuals/*'."),
        click.option("--type", "file_types", multiple=True, type=click.Choice(FILE_TYPES),
                     help="Only these file types (repeatable)."),
        click.option("--mmr", type=click.FloatRange(0, 1), help="Diversify hits by MMR with this lambda (1 = relevance only)."),
        click.option("--chat-model", envvar="RAG_CHAT_MODEL",
                     help="Ollama chat model, gguf:PATH, or 'none' for extractive answers (default llama3.2)."),
        click.option("--embed-model", envvar="RAG_EMBED_MODEL", help="Embedding model (queries use the index's own)."),
        click.option("--strict", is_flag=True, default=None, help="Drop citations whose quote is not found in the source."),
        click.option("--prompts", "prompts_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
                     help="Folder whose system.txt / user.txt / condense.txt / answer.schema.json override the shipped ones."),
        click.option("--min-score", type=float,
                     help="Abstain when the best hit's dense cosine similarity is below this (default: settings)."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def open_answering(options: dict[str, Any]) -> Any:
    from rag.api import RAG

    settings = {k: options.get(k) for k in ("index_dir", "chroma_url", "collection", "embed_model", "chat_model",
                                            "ollama_host", "strict", "prompts_dir")}
    return RAG(**settings)


def search_options(options: dict[str, Any]) -> dict[str, Any]:
    search = {k: options.get(k) for k in _SEARCH_KEYS}
    search["file_types"] = tuple(search["file_types"] or ()) or None
    return search


def print_warnings(answer: Any) -> None:
    for warning in answer.warnings:
        echo(f"Warning: {warning}", err=True)


def format_sources(answer: Any) -> list[str]:
    """The numbered source lines of an answer: `[1] docs/manual.pdf p. 3-4 (unverified)` and the quote."""
    from rag.answer.citations import page_label

    lines = []
    for c in answer.citations:
        where = " ".join(p for p in (c.source, page_label(c.page_start, c.page_end)) if p)
        heading = f" § {' > '.join(c.heading_path)}" if c.heading_path else ""
        mark = "" if c.verified else " (unverified)"
        lines.append(f"[{c.n}] {where}{heading}{mark}")
        if c.quote:
            lines.append(f'    "{" ".join(c.quote.split())}"')
    return lines


def print_answer(answer: Any, *, body: bool = True) -> None:
    if body:
        label = "(extractive) " if answer.mode == "extractive" else ""
        echo(f"{label}{answer.answer}")
    sources = format_sources(answer)
    if sources:
        echo("\nSources:")
        for line in sources:
            echo(line)


def print_stream(items: Iterator[Any], json_: bool) -> Any:
    """Print streamed pieces (text, or NDJSON {"delta": ...} lines), then the sources; return the final Answer."""
    from rag.answer.types import Answer

    printed = False
    for item in items:
        if isinstance(item, Answer):
            print_warnings(item)
            if json_:
                echo_raw(json_text(item.to_dict(), indent=None))
            else:
                if printed:
                    echo()
                if printed and item.mode == "extractive":
                    echo(EXTRACTIVE_NOTE)
                print_answer(item, body=not printed)
            return item
        if json_:
            echo_raw(json_text({"delta": item}, indent=None))
        else:
            echo(item, nl=False)
            sys.stdout.flush()
        printed = printed or bool(item)
    raise AssertionError("the answer stream ended without an Answer")  # pragma: no cover


__all__ = [
    "EXTRACTIVE_NOTE", "answer_options", "format_sources", "open_answering", "print_answer", "print_stream",
    "print_warnings", "search_options",
]
