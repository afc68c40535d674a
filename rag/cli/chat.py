"""`rag chat`: follow-up questions that keep the conversation's context."""
from __future__ import annotations

import sys
from typing import Any

import click

from rag.cli._answers import answer_options, open_answering, print_answer, print_warnings, search_options
from rag.cli._common import EXIT_OK, index_options, json_option, run_guarded
from rag.cli._output import echo, echo_raw, json_text
from rag.errors import ModelOutputError


@click.command(name="chat")
@answer_options
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
        with open_answering(options) as rag:
            session = rag.chat(**search_options(options))
            while True:
                if interactive:
                    echo("> ", nl=False, err=True)
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
                    echo(f"Error: {exc}", err=True)
                    continue
                print_warnings(answer)
                if json_:
                    echo_raw(json_text(answer.to_dict(), indent=None))
                else:
                    print_answer(answer)
                    echo()
        return EXIT_OK

    run_guarded(json_, action)
