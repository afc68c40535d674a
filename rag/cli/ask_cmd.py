"""Commands: ask, chat. Exit codes: 0 answered (or abstained), 2 error (no index, Ollama error, bad model output)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from rag.cli import EXIT_OK, cli, index_options, json_option, print_json, run_guarded
from rag.errors import ModelOutputError

EXTRACTIVE_NOTE = "(extractive: sentences quoted from the sources; no chat model was used)"
_SEARCH_KEYS = ("k", "mode", "path", "file_types", "mmr", "min_score")


def _answer_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `ask` and `chat`: retrieval, models, prompts, strictness."""
    decorators = [
        click.option("-k", "k", type=click.IntRange(1, 100), help="Chunks to retrieve (default 6, or settings)."),
        click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True,
                     help="Retrieval: dense + BM25 fused, or one leg."),
        click.option("--path", help="Only sources matching this glob, e.g. '*.pdf' or 'manuals/*'."),
        click.option("--type", "file_types", multiple=True, type=click.Choice(["pdf", "markdown", "html", "text"]),
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


def _open(options: dict[str, Any]) -> Any:
    from rag import RAG

    settings = {k: options.get(k) for k in ("index_dir", "chroma_url", "collection", "embed_model", "chat_model",
                                            "ollama_host", "strict", "prompts_dir")}
    return RAG(**settings)


def _search(options: dict[str, Any]) -> dict[str, Any]:
    search = {k: options.get(k) for k in _SEARCH_KEYS}
    search["file_types"] = tuple(search["file_types"] or ()) or None
    return search


def _warn(answer: Any) -> None:
    for warning in answer.warnings:
        click.echo(f"Warning: {warning}", err=True)


def format_sources(answer: Any) -> list[str]:
    """The numbered source lines of an answer: `[1] docs/manual.pdf p. 3-4 (unverified)` and the quote."""
    from rag.answer import page_label

    lines = []
    for c in answer.citations:
        where = " ".join(p for p in (c.source, page_label(c.page_start, c.page_end)) if p)
        heading = f" § {' > '.join(c.heading_path)}" if c.heading_path else ""
        mark = "" if c.verified else " (unverified)"
        lines.append(f"[{c.n}] {where}{heading}{mark}")
        if c.quote:
            lines.append(f'    "{" ".join(c.quote.split())}"')
    return lines


def _print_answer(answer: Any, *, body: bool = True) -> None:
    if body:
        label = "(extractive) " if answer.mode == "extractive" else ""
        click.echo(f"{label}{answer.answer}")
    sources = format_sources(answer)
    if sources:
        click.echo("\nSources:")
        for line in sources:
            click.echo(line)


def _stream(items: Iterator[Any], json_: bool) -> Any:
    """Print streamed pieces (text, or NDJSON {"delta": ...} lines), then the sources; return the final Answer."""
    from rag.answer import Answer

    printed = False
    for item in items:
        if isinstance(item, Answer):
            _warn(item)
            if json_:
                click.echo(json.dumps(item.to_dict(), ensure_ascii=False))
            else:
                if printed:
                    click.echo()
                if printed and item.mode == "extractive":
                    click.echo(EXTRACTIVE_NOTE)
                _print_answer(item, body=not printed)
            return item
        if json_:
            click.echo(json.dumps({"delta": item}, ensure_ascii=False))
        else:
            click.echo(item, nl=False)
            sys.stdout.flush()
        printed = printed or bool(item)
    raise AssertionError("the answer stream ended without an Answer")  # pragma: no cover


@cli.command(name="ask")
@click.argument("question")
@_answer_options
@click.option("--stream", "stream", is_flag=True, help="Print the answer as it is generated, then the sources.")
@index_options
@json_option
def ask_cmd(question: str, stream: bool, json_: bool, **options: Any) -> None:
    """Answer QUESTION from the indexed documents, with numbered, verified sources.

    \b
    Example:
        rag ask "What does /api/embed return?" -k 8 --type markdown
    """

    def action() -> int:
        with _open(options) as rag:
            if stream:
                _stream(rag.ask_stream(question, **_search(options)), json_)
                return EXIT_OK
            answer = rag.ask(question, **_search(options))
            _warn(answer)
            if json_:
                print_json(answer.to_dict())
            else:
                _print_answer(answer)
            return EXIT_OK

    run_guarded(json_, action)


@cli.command(name="chat")
@_answer_options
@index_options
@json_option
def chat_cmd(json_: bool, **options: Any) -> None:
    """Chat with your documents: follow-up questions keep the context. One question per line; `exit`, `quit` or
    end of input (Ctrl-D) ends. Works with piped input too; `--json` prints one Answer object per line.

    \b
    Example:
        printf 'What is keep_alive?\\nWhat is its default?\\n' | rag chat --chat-model llama3.2
    """

    def action() -> int:
        stdin = sys.stdin
        interactive = stdin.isatty()
        with _open(options) as rag:
            session = rag.chat(**_search(options))
            while True:
                if interactive:
                    click.echo("> ", nl=False, err=True)
                line = stdin.readline()
                if not line:
                    break
                message = line.strip()
                if message.lower() in ("exit", "quit"):
                    break
                if not message:
                    continue
                try:
                    answer = session.ask(message)
                except ModelOutputError as exc:  # one bad reply should not end the conversation
                    click.echo(f"Error: {exc}", err=True)
                    continue
                _warn(answer)
                if json_:
                    click.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
                else:
                    _print_answer(answer)
                    click.echo()
        return EXIT_OK

    run_guarded(json_, action)
