"""`rag chat`: follow-up questions that keep the conversation's context (the loop is in `rag.cli.repl`)."""

from __future__ import annotations

import sys
from typing import Any

import click

from rag.cli._answers import answer_options, open_answering, prepare, search_options
from rag.cli._common import index_options, json_option, run_guarded, timeout_option


@click.command(name="chat")
@answer_options
@click.option("--stream", "stream", is_flag=True, help="Print each answer as it is generated, then its sources.")
@index_options
@timeout_option
@json_option
def chat_cmd(json_: bool, stream: bool, **options: Any) -> None:
    """Chat with your documents: follow-up questions keep the context.

    On a terminal: line editing and history (Up/Down, kept in the user dir), Ctrl-C cancels the answer being
    written, Ctrl-D or /exit quits, /help lists /sources N, /reset. With piped input: one question per line;
    `--json` prints one Answer object per line.

    \b
    Example:
        printf 'What is keep_alive?\\nWhat is its default?\\n' | rag chat --chat-model llama3.2
    """

    def action() -> int:
        from rag.cli.repl import Chat

        with open_answering(options) as rag:
            prepare(rag, options)
            interactive = sys.stdin.isatty() and sys.stdout.isatty()
            return Chat(rag, search_options(options), stream=stream, json_=json_, interactive=interactive).run()

    run_guarded(json_, action)
