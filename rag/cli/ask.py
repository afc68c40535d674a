"""`rag ask`. Exit codes: 0 answered (or abstained), 2 error (no index, Ollama error, bad model output)."""
from __future__ import annotations

from typing import Any

import click

from rag.cli._answers import answer_options, open_answering, print_answer, print_stream, print_warnings, search_options
from rag.cli._common import EXIT_OK, index_options, json_option, print_json, run_guarded, timeout_option


@click.command(name="ask")
@click.argument("question")
@answer_options
@click.option("--stream", "stream", is_flag=True, help="Print the answer as it is generated, then the sources.")
@index_options
@timeout_option
@json_option
def ask_cmd(question: str, stream: bool, json_: bool, **options: Any) -> None:
    """Answer QUESTION from the indexed documents, with numbered, verified sources.

    \b
    Example:
        rag ask "What does /api/embed return?" -k 8 --type markdown
    """

    def action() -> int:
        with open_answering(options) as rag:
            if stream:
                print_stream(rag.ask_stream(question, **search_options(options)), json_)
                return EXIT_OK
            answer = rag.ask(question, **search_options(options))
            print_warnings(answer)
            if json_:
                print_json(answer.to_dict())
            else:
                print_answer(answer)
            return EXIT_OK

    run_guarded(json_, action)
