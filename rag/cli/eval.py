"""Command: eval (score retrieval and answers against a gold question file)."""

from __future__ import annotations

import dataclasses
import sys

import click

from rag.cli._common import EXIT_PARTIAL, index_options, json_option, print_json, run_guarded, timeout_option
from rag.cli._output import echo
from rag.eval.runner import EvalReport
from rag.vocab import RETRIEVAL_MODES, RetrievalMode


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_report(report: EvalReport) -> str:
    """The terminal table for an EvalReport."""
    r = report
    chat = "retrieval only" if r.retrieval_only else f"chat model {r.chat_model}"
    if not r.retrieval_only and r.modes and not r.modes.get("generative"):
        chat += " (not used: every answer is extractive or abstained)"
    lines = [f"{r.gold}: {r.questions} questions, k={r.k}, {r.mode} retrieval, {chat}", ""]
    rows: list[tuple[str, str, str]] = []
    if r.with_sources:
        rows += [
            (f"hit@{r.k}", _num(r.hit_at_k), f"{r.with_sources} questions with gold sources"),
            (f"recall@{r.k}", _num(r.recall_at_k), ""),
            ("MRR", _num(r.mrr), ""),
            ("nDCG@10", _num(r.ndcg_at_10), ""),
        ]
    if not r.retrieval_only:
        modes = ", ".join(f"{n} {m}" for m, n in sorted(r.modes.items())) or "none"
        rows += [
            ("answers", str(sum(r.modes.values())), modes),
            ("answer containment", _num(r.answer_containment), f"{r.with_answers} questions with gold answers"),
            ("citation precision", _num(r.citation_precision), f"{r.citations} citations"),
            ("abstention accuracy", _num(r.abstention_accuracy), f"{r.unanswerable} unanswerable questions"),
            ("false abstention", _num(r.false_abstention), "answerable questions abstained on"),
        ]
    rows += [("retrieve p50 / p95", f"{_num(r.retrieve_p50_ms, 1)} / {_num(r.retrieve_p95_ms, 1)}", "ms")]
    if not r.retrieval_only:
        rows += [
            ("answer p50 / p95", f"{_num(r.answer_p50_ms, 0)} / {_num(r.answer_p95_ms, 0)}", "ms, whole ask()"),
            ("Ollama tokens", f"{r.prompt_tokens:,} / {r.eval_tokens:,}", "prompt / generated"),
        ]
        if r.errors:
            rows.append(("model errors", str(r.errors), "unusable replies, counted wrong"))
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    lines += [f"  {name:<{width}}  {value:>{value_width}}  {note}".rstrip() for name, value, note in rows]
    return "\n".join(lines)


@click.command(name="eval")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-k",
    "--k",
    "k",
    type=click.IntRange(min=1),
    help="Chunks retrieved and given to the model; hit@k and recall@k use it (default: top_k).",
)
@click.option("--mode", type=click.Choice(RETRIEVAL_MODES), default="hybrid", show_default=True, help="Retrieval mode.")
@click.option("--retrieval-only", is_flag=True, help="Only retrieve: no chat model calls, no answer metrics.")
@click.option("--min-score", type=float, help="Abstention floor on the best hit's dense cosine (default: settings).")
@click.option("-m", "--chat-model", envvar="RAG_CHAT_MODEL", help="Chat model (Ollama name, gguf:PATH, or none).")
@index_options
@timeout_option
@json_option
def eval_cmd(  # noqa: PLR0913, PLR0917
    gold: str,
    k: int | None,
    mode: RetrievalMode,
    retrieval_only: bool,
    min_score: float | None,
    chat_model: str | None,
    index_dir: str | None,
    chroma_url: str | None,
    collection: str | None,
    ollama_host: str | None,
    json_: bool,
    ollama_timeout_s: float | None = None,
) -> None:
    """Score retrieval and answers on a gold question file (JSON Lines) against an existing index.

    Each line: {"question": ..., "answers": [...], "sources": ["file.md"], "answerable": true};
    only "question" is required. Progress goes to stderr, the table (or --json) to stdout.

    \b
    Example:
        rag index sample_docs
        rag eval sample_docs/gold.jsonl
    """

    def action() -> int:
        from rag.api import RAG
        from rag.eval.runner import load_gold

        items = load_gold(gold)
        with RAG(
            index_dir,
            chroma_url=chroma_url,
            collection=collection,
            ollama_host=ollama_host,
            chat_model=chat_model,
            top_k=k,
            min_score=min_score,
            ollama_timeout_s=ollama_timeout_s,
        ) as rag:
            if not retrieval_only:
                from rag.cli._models import check_chat_model

                check_chat_model(rag, explicit=True)  # never score extractive answers under a missing model's name
            with click.progressbar(length=len(items), label="Evaluating", file=sys.stderr, show_pos=True) as bar:
                report = rag.evaluate(
                    items, k=k, mode=mode, retrieval_only=retrieval_only, on_question=lambda _: bar.update(1)
                )
        report = dataclasses.replace(report, gold=gold)
        if json_:
            print_json(report.to_dict())
        else:
            echo(format_report(report))
        return EXIT_PARTIAL if report.errors else 0

    run_guarded(json_, action)
