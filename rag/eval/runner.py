"""Run a gold question file against a RAG instance and report retrieval, answer and latency metrics.

A gold file is JSON Lines, one question per line:

    {"question": "...", "answers": ["..."], "sources": ["guide.md"], "answerable": true}

Only "question" is required. "sources" names the documents that should be retrieved (relative paths or doc ids,
matched against a hit's source by equality or path suffix; a mapping source -> gain gives graded relevance);
"answers" are strings one of which a correct answer contains; "answerable": false marks a question whose right
answer is an abstention (default: true).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag._result import Result
from rag.errors import IngestError, ModelOutputError
from rag.eval import metrics
from rag.vocab import RETRIEVAL_MODES, RetrievalMode, check_choice

if TYPE_CHECKING:
    from rag.answer.types import Answer
    from rag.config import Settings
    from rag.index.report import Status
    from rag.retrieve.hybrid import Hit


class Evaluated(Protocol):
    """What evaluation needs from the system under test (`rag.RAG` is one)."""

    settings: Settings

    def retrieve(self, question: str, *, k: int | None = ..., mode: RetrievalMode = ...) -> list[Hit]: ...

    def ask(self, question: str, *, k: int | None = ..., mode: RetrievalMode = ...) -> Answer: ...

    def status(self) -> Status: ...


NDCG_DEPTH = 10
"""nDCG and MRR are computed over the first max(k, NDCG_DEPTH) retrieved chunks."""
_GOLD_HELP = 'each line must be a JSON object like {"question": "...", "answers": ["..."], "sources": ["file.md"]}'


@dataclass(frozen=True)
class GoldItem(Result):
    """One gold question."""

    question: str
    answers: tuple[str, ...] = ()
    """A correct answer contains one of these (normalised); empty: answers are not checked."""
    sources: Mapping[str, float] | None = None
    """Gold documents -> relevance gain (1 for a plain list); None: retrieval is not checked."""
    answerable: bool = True
    """False: the right answer is an abstention."""


@dataclass(frozen=True)
class QuestionResult(Result):
    """What happened to one gold question."""

    question: str
    answerable: bool
    retrieved: tuple[str, ...]
    """Sources of the retrieved chunks, best first (first occurrence of each, up to max(k, 10))."""
    gold_rank: int | None
    """Rank (1-based, among distinct retrieved sources) of the first gold source; None if missed or no gold."""
    hit: float | None
    recall: float | None
    reciprocal_rank: float | None
    ndcg: float | None
    retrieve_ms: float
    """Wall time of retrieval alone, milliseconds."""
    top_dense_score: float | None = None
    """Best dense cosine among the hits (what the abstention floor, min_score, is compared with)."""
    answer: str | None = None
    mode: str | None = None
    """The answer's mode: "generative", "extractive" or "abstained" (None: retrieval only)."""
    abstained: bool | None = None
    contained: bool | None = None
    """A gold answer is contained in the answer (None: no gold answers, or retrieval only)."""
    citations: int = 0
    citation_precision: float | None = None
    answer_ms: float | None = None
    """Wall time of the whole ask() call (retrieval, prompt, model, verification), milliseconds."""
    prompt_tokens: int = 0
    """Prompt tokens the chat model read for this answer (`Timings.prompt_tokens`, summed over retries)."""
    eval_tokens: int = 0
    """Tokens the chat model generated for this answer (`Timings.eval_tokens`)."""
    error: str | None = None
    """The model's reply was unusable (ModelOutputError): counted as a wrong answer."""


@dataclass(frozen=True)
class EvalReport(Result):
    """Aggregate metrics of one `rag eval` run. A metric is None when no question could measure it."""

    gold: str
    questions: int
    k: int
    mode: str
    retrieval_only: bool
    embed_model: str
    chat_model: str | None
    with_sources: int
    """Questions with gold sources (the denominator of the retrieval metrics)."""
    hit_at_k: float | None
    recall_at_k: float | None
    mrr: float | None
    """Mean reciprocal rank of the first gold source within max(k, 10)."""
    ndcg_at_10: float | None
    with_answers: int
    """Answerable questions with gold answers (the denominator of answer containment)."""
    answer_containment: float | None
    citations: int
    citation_precision: float | None
    """Correct citations / all citations, over every answer (micro average)."""
    unanswerable: int
    abstention_accuracy: float | None
    """Unanswerable questions the system abstained on / unanswerable questions."""
    false_abstention: float | None
    """Answerable questions the system abstained on / answerable questions."""
    retrieve_p50_ms: float | None
    retrieve_p95_ms: float | None
    answer_p50_ms: float | None
    answer_p95_ms: float | None
    prompt_tokens: int
    """Prompt tokens over all answers."""
    eval_tokens: int
    """Generated tokens over all answers."""
    errors: int
    modes: dict[str, int] = field(default_factory=dict)
    """How many answers had each mode ("generative", "extractive", "abstained")."""
    results: tuple[QuestionResult, ...] = ()


def _gold_item(data: Any) -> GoldItem:
    """Validate one parsed gold line; ValueError says what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError('"question" must be a non-empty string')
    answers = data.get("answers", [])
    answers = [answers] if isinstance(answers, str) else answers
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise ValueError('"answers" must be a list of strings')
    raw = data.get("sources")
    if raw is None:
        sources = None
    elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
        sources = {s: 1.0 for s in raw}
    elif isinstance(raw, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw.values()):
        sources = {str(s): float(g) for s, g in raw.items()}
    else:
        raise ValueError('"sources" must be a list of paths or an object {path: gain}')
    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ValueError('"answerable" must be true or false')
    return GoldItem(question=question.strip(), answers=tuple(answers), sources=sources or None, answerable=answerable)


def load_gold(path: str | Path) -> list[GoldItem]:
    """Parse a gold JSONL file (blank lines and lines starting with # are skipped).

    Raises:
        IngestError: the file is missing, or a line is not a valid gold question (the message names the line).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(str(path), f"cannot read the gold file ({exc})") from exc
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            items.append(_gold_item(json.loads(line)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise IngestError(str(path), f"line {number}: {exc}; {_GOLD_HELP}") from exc
    if not items:
        raise IngestError(str(path), f"no questions; {_GOLD_HELP}")
    return items


def _field(obj: Any, name: str, default: Any = None) -> Any:
    """obj.name or obj[name] (timings may be a dict or a dataclass)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _retrieval(item: GoldItem, sources: Sequence[str], k: int) -> dict[str, Any]:
    """Retrieval metrics of one question from its hits' sources, best first (one entry per chunk).

    hit@k and recall@k look at the files of the first k chunks (what the model is given); MRR and nDCG@10 rank
    files by their best chunk among all retrieved (document-level, as BEIR scores them)."""
    if item.sources is None:
        return {"gold_rank": None, "hit": None, "recall": None, "reciprocal_rank": None, "ndcg": None}
    gold = item.sources

    def ranked(window: Sequence[str]) -> list[str | None]:
        return [metrics.match_source(s, gold) if s is not None else None for s in metrics.dedupe(window)]

    top_k, every = ranked(sources[:k]), ranked(sources)
    rr = metrics.reciprocal_rank(every, gold)
    return {
        "gold_rank": round(1 / rr) if rr else None,
        "hit": metrics.hit_at_k(top_k, gold, k),
        "recall": metrics.recall_at_k(top_k, gold, k),
        "reciprocal_rank": rr,
        "ndcg": metrics.ndcg_at_k(every, gold, NDCG_DEPTH),
    }


def _answer_fields(item: GoldItem, answer: Any) -> dict[str, Any]:
    """Answer metrics of one question from an Answer."""
    abstained = _field(answer, "mode") == "abstained" or _field(answer, "answerable") is False
    text = _field(answer, "answer") or ""
    chunks = {_field(h, "id"): h for h in _field(answer, "hits", ()) or ()}
    cited = []
    for c in _field(answer, "citations", ()) or ():
        hit = chunks.get(_field(c, "id"))
        cited.append((_field(c, "source", ""), _field(hit, "text", "") if hit is not None else _field(c, "quote", "")))
    timings = _field(answer, "timings") or {}
    return {
        "answer": text,
        "mode": _field(answer, "mode"),
        "abstained": abstained,
        "contained": (not abstained and metrics.contains_answer(text, item.answers)) if item.answers else None,
        "citations": len(cited),
        "citation_precision": metrics.citation_precision(cited, item.sources or (), item.answers),
        "prompt_tokens": int(_field(timings, "prompt_tokens", 0) or 0),
        "eval_tokens": int(_field(timings, "eval_tokens", 0) or 0),
    }


def evaluate_item(
    rag: Evaluated, item: GoldItem, *, k: int, mode: RetrievalMode, retrieval_only: bool
) -> QuestionResult:
    """Retrieve (and unless retrieval_only, ask) one gold question and score it."""
    depth = max(k, NDCG_DEPTH)
    from rag.answer.types import elapsed_ms
    from rag.retrieve.hybrid import best_dense

    start = time.perf_counter()
    hits = rag.retrieve(item.question, k=depth, mode=mode)
    retrieve_ms = elapsed_ms(start)
    sources = [s for s in metrics.dedupe(h.source for h in hits) if s is not None]
    fields: dict[str, Any] = {
        "question": item.question,
        "answerable": item.answerable,
        "retrieve_ms": retrieve_ms,
        "top_dense_score": best_dense(hits),
    }
    fields |= {"retrieved": tuple(sources)} | _retrieval(item, [h.source for h in hits], k)
    if not retrieval_only:
        start = time.perf_counter()
        try:
            answer = rag.ask(item.question, k=k, mode=mode)
        except ModelOutputError as exc:
            fields |= {"error": str(exc), "abstained": False, "contained": False if item.answers else None}
        else:
            fields |= _answer_fields(item, answer)
        fields["answer_ms"] = elapsed_ms(start)
    return QuestionResult(**fields)


def _rate(results: Iterable[QuestionResult], attr: str) -> float | None:
    return metrics.mean(None if getattr(r, attr) is None else float(getattr(r, attr)) for r in results)


def summarize(
    results: Sequence[QuestionResult],
    *,
    gold: str,
    k: int,
    mode: str,
    retrieval_only: bool,
    embed_model: str,
    chat_model: str | None,
) -> EvalReport:
    """Aggregate per-question results into an EvalReport."""
    scored = [r for r in results if r.hit is not None]
    answered = [r for r in results if r.abstained is not None]
    cited = sum(r.citations for r in results)
    good_citations = sum((r.citation_precision or 0.0) * r.citations for r in results)
    retrieve_ms = [r.retrieve_ms for r in results]
    answer_ms = [r.answer_ms for r in results if r.answer_ms is not None]
    return EvalReport(
        gold=gold,
        questions=len(results),
        k=k,
        mode=mode,
        retrieval_only=retrieval_only,
        embed_model=embed_model,
        chat_model=None if retrieval_only else chat_model,
        with_sources=len(scored),
        hit_at_k=_rate(scored, "hit"),
        recall_at_k=_rate(scored, "recall"),
        mrr=_rate(scored, "reciprocal_rank"),
        ndcg_at_10=_rate(scored, "ndcg"),
        with_answers=sum(1 for r in results if r.contained is not None),
        answer_containment=_rate(results, "contained"),
        citations=cited,
        citation_precision=good_citations / cited if cited else None,
        unanswerable=sum(1 for r in results if not r.answerable),
        abstention_accuracy=metrics.abstention_accuracy(
            [bool(r.abstained) for r in answered], [r.answerable for r in answered]
        ),
        false_abstention=metrics.mean(float(bool(r.abstained)) for r in answered if r.answerable),
        retrieve_p50_ms=metrics.percentile(retrieve_ms, 50),
        retrieve_p95_ms=metrics.percentile(retrieve_ms, 95),
        answer_p50_ms=metrics.percentile(answer_ms, 50),
        answer_p95_ms=metrics.percentile(answer_ms, 95),
        prompt_tokens=sum(r.prompt_tokens for r in results),
        eval_tokens=sum(r.eval_tokens for r in results),
        errors=sum(1 for r in results if r.error),
        modes=dict(Counter(r.mode for r in results if r.mode)),
        results=tuple(results),
    )


def evaluate(
    rag: Evaluated,
    gold: str | Path | Sequence[GoldItem],
    *,
    k: int | None = None,
    mode: RetrievalMode = "hybrid",
    retrieval_only: bool = False,
    on_question: Callable[[QuestionResult], None] | None = None,
) -> EvalReport:
    """Run every gold question against `rag` and aggregate the metrics.

    Args:
        gold: a gold JSONL path, or parsed GoldItems.
        k: retrieval depth for hit@k and recall@k (default: the instance's top_k).
        mode: retrieval mode, "hybrid", "dense" or "bm25".
        retrieval_only: only retrieve (no chat model calls; answer metrics stay None).
        on_question: called after each question (progress reporting).

    One untimed retrieval runs first, so loading the embedder does not count as query latency.

    Raises:
        IngestError: the gold file cannot be read or parsed.
        RagError: from retrieval or the model (unreachable server, missing model, ...).
    """
    check_choice(mode, RETRIEVAL_MODES, "mode")
    items = load_gold(gold) if isinstance(gold, (str, Path)) else list(gold)
    k = k or rag.settings.top_k
    if k < 1:
        raise ValueError("k must be at least 1")
    if items:  # warm-up, not timed: the first query loads the embedder (and opens the store)
        rag.retrieve(items[0].question, k=k, mode=mode)
    results = []
    for item in items:
        result = evaluate_item(rag, item, k=k, mode=mode, retrieval_only=retrieval_only)
        results.append(result)
        if on_question is not None:
            on_question(result)
    return summarize(
        results,
        gold=str(gold) if isinstance(gold, (str, Path)) else "<items>",
        k=k,
        mode=mode,
        retrieval_only=retrieval_only,
        embed_model=_index_model(rag),
        chat_model=rag.settings.chat_model,
    )


__all__ = ["EvalReport", "Evaluated", "GoldItem", "NDCG_DEPTH", "QuestionResult", "evaluate", "load_gold", "summarize"]


def _index_model(rag: Evaluated) -> str:
    """The embedding model the evaluated collection was built with (what its queries are embedded with)."""
    collection = next((c for c in rag.status().collections if c.name == rag.settings.collection), None)
    return collection.model if collection is not None and collection.model else rag.settings.embed_model_or_default
