"""`rag ask`. Exit codes: 0 answered (or abstained), 2 error (no index, Ollama error, bad model output, empty
question), 130 interrupted."""

from __future__ import annotations

import sys
from typing import Any

import click

from rag.cli._answers import (
    answer_options,
    open_answering,
    prepare,
    print_answer,
    print_stream,
    print_warnings,
    search_options,
)
from rag.cli._common import EXIT_OK, index_options, json_option, print_json, run_guarded, timeout_option
from rag.cli._paths import cited_sources, save_last, source_paths, with_paths
from rag.cli._status import StatusLine, model_loaded

EMPTY_QUESTION = 'QUESTION is empty: ask something, e.g. rag ask "What does /api/embed return?"'


@click.command(name="ask")
@click.argument("question", nargs=-1, required=True)
@answer_options
@click.option("--stream", "stream", is_flag=True, help="Print the answer as it is generated, then the sources.")
@index_options
@timeout_option
@json_option
def ask_cmd(question: tuple[str, ...], stream: bool, json_: bool, **options: Any) -> None:
    """Answer QUESTION from the indexed documents, with numbered, verified sources. The words of QUESTION may be
    given unquoted (they are joined with spaces). `rag open N` then opens source [N].

    \b
    Example:
        rag ask "What does /api/embed return?" -k 8 --type markdown
    """
    text = " ".join(question).strip()
    if not text:
        raise click.UsageError(EMPTY_QUESTION)

    def action() -> int:
        with open_answering(options) as rag:
            prepare(rag, options)
            status = StatusLine(sys.stderr.isatty() and not json_, loaded=model_loaded(rag.client.host))

            def paths_for(answer: Any) -> dict[str, str]:
                paths = source_paths(rag, cited_sources(answer))
                save_last(rag, answer, paths)
                return paths

            try:
                if stream:
                    print_stream(
                        rag.ask_stream(text, on_event=status, **search_options(options)),
                        json_,
                        before_text=status.clear,
                        paths_for=paths_for,
                    )
                    return EXIT_OK
                answer = rag.ask(text, on_event=status, **search_options(options))
            finally:
                status.clear()
            paths = paths_for(answer)
            print_warnings(answer)
            if json_:
                print_json(with_paths(answer.to_dict(), paths))
            else:
                print_answer(answer, paths=paths)
            return EXIT_OK

    run_guarded(json_, action)
