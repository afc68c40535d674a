"""The sources block of the answer prompt: which hits fit the token budget, and how each is labelled."""
from __future__ import annotations

from collections.abc import Sequence

from ingest.chunking import estimate_tokens
from rag.answer.citations import page_label, source_ids
from rag.retrieve.hybrid import Hit


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


def format_sources(hits: Sequence[Hit]) -> str:
    """The context block: each hit under a header line `[S1] (source, p. 3-4, heading > path)`."""
    blocks = []
    for label, hit in zip(source_ids(hits), hits):
        where = ", ".join(p for p in (hit.source, page_label(hit.page_start, hit.page_end), " > ".join(hit.heading_path)) if p)
        blocks.append(f"[{label}] ({where})\n{hit.text.strip()}")
    return "\n\n".join(blocks)


__all__ = ["format_sources", "pack_context"]
