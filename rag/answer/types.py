"""Result types of a question: `Citation`, `Timings`, `Answer`, and the abstention answer.

Citations are built in `rag.answer.citations`, the context in `rag.answer.context`; the generative call lives in
`rag.answer.generative`, the extractive fallback in `rag.answer.extractive`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag._result import Result
from rag.ollama.types import ModelStats
from rag.retrieve.hybrid import Hit
from rag.vocab import AnswerMode, ClaimFlag

NOT_FOUND = "Not found in the indexed documents."
"""The answer text when retrieval found nothing good enough (mode "abstained")."""
UNANSWERABLE = "The indexed documents do not answer this question."
"""The answer text when the model read the sources and reported answerable=false without saying why."""
REVISED_HEADING = "As verified (the checks changed the streamed text; see the warnings):"
"""The line before a streamed answer's final text when verification changed it (a restated claim replaced or
dropped, a claim refused): the CLI and the chat servers' streams show it, then the final answer."""
CLOSEST_HEADING = "Closest passages (the model did not find the answer in them; judge for yourself):"
"""The line above a declined answer's closest passages (`Answer.closest`) in the CLI and chat servers' text."""


@dataclass(frozen=True)
class Citation(Result):
    """One cited passage, mapped to where it is in the source document."""

    n: int
    """Display number: `[n]` in the human output, 1-based."""
    id: str
    """Chunk id (one of the retrieved hits)."""
    source: str
    """Document storage key, `<root folder>/<relative path>`."""
    page_start: int | None
    """First page of the cited chunk (1-based; None for documents without pages)."""
    page_end: int | None
    char_start: int
    """Start of the quote in the document text when found verbatim, else of the chunk (characters)."""
    char_end: int
    heading_path: tuple[str, ...]
    """Headings the chunk sits under (Markdown/HTML), outermost first."""
    quote: str
    """The supporting text the model (or the extractive picker) quoted."""
    verified: bool
    """The quote was found in the cited chunk (normalised fuzzy containment, `match_score >= threshold`)."""
    match_score: float
    """1.0: exact after normalisation; lower: best fuzzy alignment ratio."""
    reattributed_from: str | None = None
    """When the model cited another source for this quote (not found there) and the quote is verbatim in this chunk:
    the chunk id the model gave. None: the citation is where the model put it."""
    ocr: bool = False
    """The cited chunk's text was read by OCR (shown as "p. 3, OCR"): expect recognition errors in the quote."""


@dataclass(frozen=True)
class Claim(Result):
    """One sentence of the answer with the citations that support it (the `[n]` markers in `Answer.answer`)."""

    text: str
    """The claim as written, without markers."""
    citations: tuple[int, ...]
    """`Citation.n` of its supporting citations."""
    verified: bool
    """At least one of its citations is verified."""
    flags: tuple[ClaimFlag, ...] = ()
    """Problems found: "unsupported" (no verified quote), "inconsistent" (a number, date or name absent from its
    evidence), "restated" (the model's claim only restated the question: the text is the sentences it quoted),
    "link removed" (a URL or image not in its cited chunks)."""


@dataclass(frozen=True)
class Timings(ModelStats):
    """Where the time went, every duration in milliseconds: the model server's (`model_ms`, `load_ms`,
    `prompt_eval_ms`, `eval_ms`) and token counts, summed over retries, plus ours (`retrieval_ms`, `total_ms`)."""

    retrieval_ms: float = 0.0
    """Milliseconds spent embedding the query and searching (dense + BM25 + fusion)."""
    total_ms: float = 0.0
    """Wall-clock milliseconds for the whole question."""


@dataclass(frozen=True)
class Answer(Result):
    """The answer to one question, with verified citations and everything needed to audit it."""

    question: str
    """The question as asked."""
    answerable: bool
    """False when retrieval found nothing relevant or the model said the sources do not answer."""
    answer: str
    mode: AnswerMode
    """"generative" (chat model, JSON schema), "extractive" (sentences from the sources, no model) or "abstained"."""
    citations: tuple[Citation, ...]
    """Supporting passages; only ever from `hits`."""
    hits: tuple[Hit, ...]
    """The retrieved chunks given to the model (or the extractive picker), best first, with scores."""
    model: str | None
    """Chat model that wrote the answer (None for extractive and abstained answers)."""
    timings: Timings = field(default_factory=Timings)
    warnings: tuple[str, ...] = ()
    """Things the user should know: fallbacks, dropped citations, a prompt that may have been cut."""
    query: str = ""
    """The query used for retrieval (a chat follow-up rewritten to stand alone; else the question)."""
    claims: tuple[Claim, ...] = ()
    """The answer sentence by sentence, each with its citations (generative and extractive answers)."""
    closest: tuple[Citation, ...] = ()
    """When the chat model found no answer in the sources it read: their sentences that best match the question
    (verbatim, numbered apart from `citations`), for the reader to judge. Not part of the answer; empty otherwise."""


def abstained(question: str, hits: Sequence[Hit], *, query: str, timings: Timings, reason: str) -> Answer:
    """The "not found" answer given without calling a model."""
    return Answer(
        question=question,
        answerable=False,
        answer=NOT_FOUND,
        mode="abstained",
        citations=(),
        hits=tuple(hits),
        model=None,
        timings=timings,
        warnings=(reason,) if reason else (),
        query=query,
    )


def streamed_text(answer: Answer) -> str:
    """What a stream of `answer` sends before the final `Answer`: its claims' text joined by spaces, without markers
    (the whole answer text when it has no claims), whitespace collapsed. Compare with the pieces actually streamed to
    tell whether verification changed the answer."""
    return " ".join((" ".join(c.text for c in answer.claims) if answer.claims else answer.answer).split())


def elapsed_ms(start: float) -> float:
    """Milliseconds since `start` (a time.perf_counter() value)."""
    return round((time.perf_counter() - start) * 1000, 3)


__all__ = [
    "CLOSEST_HEADING",
    "NOT_FOUND",
    "REVISED_HEADING",
    "UNANSWERABLE",
    "Answer",
    "Citation",
    "Claim",
    "Timings",
    "abstained",
    "elapsed_ms",
    "streamed_text",
]
