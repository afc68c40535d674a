"""Citations: the labels the model sees, page labels, and citations built from quotes verified against their hits."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from rag.answer.types import Citation
from rag.answer.verify import VERIFY_THRESHOLD, locate, verify_quote
from rag.retrieve.hybrid import Hit


def source_ids(hits: Sequence[Hit]) -> list[str]:
    """The short ids shown to the model for `hits`, in order: "S1", "S2", ..."""
    return [f"S{i}" for i in range(1, len(hits) + 1)]


def page_label(page_start: int | None, page_end: int | None, ocr: bool = False) -> str:
    """ "p. 3", "p. 3-4", "p. 3, OCR" (text read by OCR), or "" for documents without pages."""
    if page_start is None:
        return "OCR" if ocr else ""
    label = f"p. {page_start}" if page_end is None or page_end == page_start else f"p. {page_start}-{page_end}"
    return f"{label}, OCR" if ocr else label


def make_citation(
    n: int, hit: Hit, quote: str, *, verified: bool | None = None, score: float | None = None
) -> Citation:
    """A citation of `hit`; the quote is verified against the hit's text unless `verified` is given."""
    if verified is None or score is None:
        verified, score = verify_quote(quote, hit.text, VERIFY_THRESHOLD)
    span = locate(quote, hit.text)
    start, end = (hit.char_start + span[0], hit.char_start + span[1]) if span else (hit.char_start, hit.char_end)
    return Citation(
        n=n,
        id=hit.id,
        source=hit.source,
        page_start=hit.page_start,
        page_end=hit.page_end,
        char_start=start,
        char_end=end,
        heading_path=tuple(hit.heading_path),
        quote=quote,
        verified=verified,
        match_score=score,
        ocr=hit.ocr,
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
    and marked `reattributed_from`. A quote found in no chunk is one unverified citation, however many sources it is
    cited under (a looping small model cites the same invented sentence under every id).
    """
    out: list[tuple[Citation, int]] = []
    seen: dict[tuple[str, str], Citation] = {}
    invented: dict[str, Citation] = {}  # unverified quote -> its first citation
    made = 0  # distinct citations so far (their numbers)
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
            citation = make_citation(made + 1, hit, quote)
            if not citation.verified:
                other = _verified_elsewhere(quote, hit, by_label.values())
                if other is not None:
                    citation = dataclasses.replace(other, n=citation.n, reattributed_from=hit.id)
                    moved += 1
            if strict and not citation.verified:
                unverified += 1
                continue
            if not citation.verified:
                citation = invented.setdefault(" ".join(quote.split()).casefold(), citation)
            made = max(made, citation.n)
            seen[(hit.id, quote)] = citation
        out.append((citation, index))
    if unknown:
        warnings.append(f"dropped {unknown} citation(s) of sources that were not retrieved")
    if moved:
        warnings.append(
            f"{moved} quote(s) were not in the source the model cited but in another retrieved source: "
            "re-attributed to it"
        )
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


__all__ = ["build_citations", "cite_items", "make_citation", "page_label", "source_ids"]
