"""Result types of a question (`Citation`, `Timings`, `Answer`) and the pieces every answering mode shares:
citation building with verification, the abstention answer, and context packing.

The generative call itself lives in `rag.generate`, the extractive fallback in `rag.extractive`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ingest.chunking import estimate_tokens  # CJK-aware; the same count the chunker uses

from rag._ollama_types import ModelStats
from rag._result import Result
from rag.retrieve import Hit
from rag.verify import VERIFY_THRESHOLD, locate, verify_quote

NOT_FOUND = "Not found in the indexed documents."
"""The answer text when retrieval found nothing good enough (mode "abstained")."""
UNANSWERABLE = "The indexed documents do not answer this question."
"""The answer text when the model read the sources and reported answerable=false without saying why."""
MODES = ("generative", "extractive", "abstained")


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


@dataclass(frozen=True)
class Claim(Result):
    """One sentence of the answer with the citations that support it (the `[n]` markers in `Answer.answer`)."""

    text: str
    """The claim as written, without markers."""
    citations: tuple[int, ...]
    """`Citation.n` of its supporting citations."""
    verified: bool
    """At least one of its citations is verified."""
    flags: tuple[str, ...] = ()
    """Problems found: "unsupported" (no verified quote), "inconsistent" (a number, date or name absent from its
    evidence), "link removed" (a URL or image not in its cited chunks)."""


@dataclass(frozen=True)
class Timings(ModelStats):
    """Where the time went: Ollama's counters and durations (nanoseconds, summed over retries), plus ours."""

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
    mode: str
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


def source_ids(hits: Sequence[Hit]) -> list[str]:
    """The short ids shown to the model for `hits`, in order: "S1", "S2", ..."""
    return [f"S{i}" for i in range(1, len(hits) + 1)]


def page_label(page_start: int | None, page_end: int | None) -> str:
    """"p. 3", "p. 3-4", or "" for documents without pages."""
    if page_start is None:
        return ""
    if page_end is None or page_end == page_start:
        return f"p. {page_start}"
    return f"p. {page_start}-{page_end}"


def pack_context(hits: Sequence[Hit], budget_tokens: int) -> list[Hit]:
    """The hits that fit in `budget_tokens`, in rank order (the best hit always, even when it alone is over)."""
    packed: list[Hit] = []
    used = 0
    for hit in hits:
        cost = estimate_tokens(hit.text) + 12  # the "[S1] (source, pages)" header line
        if packed and used + cost > budget_tokens:
            break
        packed.append(hit)
        used += cost
    return packed


def make_citation(n: int, hit: Hit, quote: str, *, verified: bool | None = None, score: float | None = None) -> Citation:
    """A citation of `hit`; the quote is verified against the hit's text unless `verified` is given."""
    if verified is None or score is None:
        verified, score = verify_quote(quote, hit.text, VERIFY_THRESHOLD)
    span = locate(quote, hit.text)
    start, end = (hit.char_start + span[0], hit.char_start + span[1]) if span else (hit.char_start, hit.char_end)
    return Citation(
        n=n, id=hit.id, source=hit.source, page_start=hit.page_start, page_end=hit.page_end, char_start=start,
        char_end=end, heading_path=tuple(hit.heading_path), quote=quote, verified=verified, match_score=score,
    )


def build_citations(
    raw: Iterable[Any], by_label: dict[str, Hit], *, strict: bool, warnings: list[str]
) -> tuple[Citation, ...]:
    """Citations from the model's `[{id, quote}]`: unknown ids dropped (defensively: the schema's enum forbids them),
    duplicates merged, quotes verified; with `strict`, unverified ones dropped. Numbered 1..n in order."""
    return tuple(dict.fromkeys(c for c, _ in cite_items(raw, by_label, strict=strict, warnings=warnings)))


def cite_items(
    raw: Iterable[Any], by_label: dict[str, Hit], *, strict: bool, warnings: list[str]
) -> list[tuple[Citation, int]]:
    """Like `build_citations`, each with the index of the raw item it came from (a duplicate maps to the first).

    A quote not found in its cited chunk but verbatim (verified) in another retrieved chunk is moved to that chunk
    and marked `reattributed_from`.
    """
    out: list[tuple[Citation, int]] = []
    seen: dict[tuple[str, str], Citation] = {}
    unknown = unverified = moved = 0
    for index, item in enumerate(raw):
        label = str(item.get("id", "")) if isinstance(item, dict) else ""
        quote = str(item.get("quote", "")) if isinstance(item, dict) else ""
        hit = by_label.get(label) or next((h for h in by_label.values() if h.id == label), None)
        if hit is None:
            unknown += 1
            continue
        citation = seen.get((hit.id, quote))
        if citation is None:
            citation = make_citation(len(seen) + 1, hit, quote)
            if not citation.verified:
                other = _verified_elsewhere(quote, hit, by_label.values())
                if other is not None:
                    citation = dataclasses.replace(other, n=citation.n, reattributed_from=hit.id)
                    moved += 1
            if strict and not citation.verified:
                unverified += 1
                continue
            seen[(hit.id, quote)] = citation
        out.append((citation, index))
    if unknown:
        warnings.append(f"dropped {unknown} citation(s) of sources that were not retrieved")
    if moved:
        warnings.append(f"{moved} quote(s) were not in the source the model cited but in another retrieved source: "
                        "re-attributed to it")
    if unverified:
        warnings.append(f"--strict: dropped {unverified} citation(s) whose quote was not found in the cited source")
    return out


def _verified_elsewhere(quote: str, cited: Hit, hits: Iterable[Hit]) -> Citation | None:
    """A verified citation of `quote` in the first other hit that contains it, else None."""
    for hit in hits:
        if hit.id != cited.id:
            citation = make_citation(0, hit, quote)
            if citation.verified:
                return citation
    return None


def abstained(question: str, hits: Sequence[Hit], *, query: str, timings: Timings, reason: str) -> Answer:
    """The "not found" answer given without calling a model."""
    return Answer(
        question=question, answerable=False, answer=NOT_FOUND, mode="abstained", citations=(), hits=tuple(hits),
        model=None, timings=timings, warnings=(reason,) if reason else (), query=query,
    )


__all__ = [
    "MODES", "NOT_FOUND", "UNANSWERABLE", "Answer", "Citation", "Claim", "Timings", "abstained", "build_citations",
    "cite_items",
    "estimate_tokens", "make_citation", "pack_context", "page_label", "source_ids",
]
