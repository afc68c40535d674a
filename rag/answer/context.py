"""The sources block of the answer prompt: which hits fit the token budget, and how each is labelled."""

from __future__ import annotations

import re
import secrets
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


_HEADER_LIKE = re.compile(r"[\[【［]\s*(/?\s*S\s*\d+)\s*(?:[^\]】］\n]{0,40})[\]】］]", re.I)
"""Anything in a chunk's text that could pass for a source header or footer: "[S3]", "[/S3 key]", "【S3】"."""


def new_key() -> str:
    """A random per-request key that marks the real source headers (a document cannot know it in advance)."""
    return secrets.token_hex(4)


def neutralise(text: str) -> str:
    """`text` with header-like labels ("[S3]", "[/S3 ...]") rewritten as "(S3)": a chunk cannot forge a source.

    Only brackets change, which quote verification ignores (it compares text without punctuation)."""
    return _HEADER_LIKE.sub(lambda m: "(" + re.sub(r"\s+", "", m.group(1)) + ")", text)


def format_sources(hits: Sequence[Hit], key: str = "") -> str:
    """The context block: each hit between a header line `[S1] (source, p. 3-4, heading > path) key=KEY` and a footer
    `[/S1 KEY]`; header-like text inside the chunks is neutralised. `key` defaults to a fresh random one."""
    key = key or new_key()
    blocks = []
    for label, hit in zip(source_ids(hits), hits, strict=False):
        where = ", ".join(
            p for p in (hit.source, page_label(hit.page_start, hit.page_end), " > ".join(hit.heading_path)) if p
        )
        blocks.append(f"[{label}] ({neutralise(where)}) key={key}\n{neutralise(hit.text.strip())}\n[/{label} {key}]")
    return "\n\n".join(blocks)


__all__ = ["format_sources", "neutralise", "new_key", "pack_context"]
