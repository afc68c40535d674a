"""The sources an answer reads: the hits close to the best one, those that fit the token budget, and their labels."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence

from ingest.chunking import estimate_tokens
from rag.answer.citations import page_label, source_ids
from rag.answer.extractive import distinct, rank_sentences
from rag.retrieve.hybrid import Hit

FOCUS_MIN_HITS = 2
"""`focus` never leaves the model fewer sources than this (when retrieval found them)."""


def focus(hits: Sequence[Hit], gap: float | None) -> list[Hit]:
    """The hits whose fused score is within `gap` of the best one's, in rank order, at least `FOCUS_MIN_HITS` of
    them; all of them when `gap` is 0 or None. Fewer, better sources keep a small model from quoting a neighbour.

    >>> from rag.retrieve.hybrid import Hit
    >>> hit = lambda s: Hit(str(s), "t", "f", None, None, 0, 1, (), 0, None, None, s, 1)
    >>> [h.score for h in focus([hit(3.0), hit(2.5), hit(1.8), hit(0.4)], 1.0)]
    [3.0, 2.5]
    >>> [h.score for h in focus([hit(3.0), hit(0.5), hit(0.4)], 1.0)]
    [3.0, 0.5]
    """
    if not gap or not hits:
        return list(hits)
    best = max(h.score for h in hits)
    return [h for n, h in enumerate(hits) if n < FOCUS_MIN_HITS or h.score >= best - gap]


def narrow(question: str, hits: Sequence[Hit], sentences: int) -> list[tuple[Hit, str]]:
    """The hits that hold one of the `sentences` sentences best matching `question` (`rank_sentences`), each with
    the text the model is shown: only those sentences, in document order, "…" where text was left out. All hits
    with their whole text when `sentences` is 0 or no sentence shares a term with the question.

    Quotes copied from the narrowed text are verbatim in the whole chunk, so verification is unchanged.
    """
    chosen = distinct(rank_sentences(question, hits))[:sentences] if sentences else []
    if not chosen:
        return [(hit, hit.text) for hit in hits]
    spans: dict[str, list[tuple[int, int]]] = {}
    for _, _, start, end, hit, _ in chosen:
        spans.setdefault(hit.id, []).append((start, end))
    shown = []
    for hit in hits:
        if hit.id not in spans:
            continue
        parts: list[str] = []
        last = -1
        for start, end in sorted(spans[hit.id]):
            piece = hit.text[start:end].strip()
            if parts and last >= 0 and not hit.text[last:start].strip():
                parts[-1] += hit.text[last:end].rstrip()  # the next sentence, with the chunk's own spacing
            else:
                parts.append(piece)
            last = end
        text = " … ".join(parts)
        shown.append((hit, text))
    return shown


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
    """A random key that marks the real source headers (a document cannot know it in advance)."""
    return secrets.token_hex(4)


def context_key(question: str, shown: Sequence[tuple[Hit, str]]) -> str:
    """The key that marks the real source headers of one request: a hash of the question and of the sources' ids and
    text. The same question over the same sources is the same request, so at temperature 0 its answer repeats (a
    random key made every request a new prompt, and a 1.5B model changed about 1 answer in 3 between runs; a server's
    prompt-prefix cache can still shift a few). A document still cannot forge a header: the key depends on its own
    text."""
    digest = hashlib.sha256(question.encode("utf-8"))
    for hit, text in shown:
        digest.update(b"\0" + hit.id.encode("utf-8") + b"\0" + text.encode("utf-8"))
    return digest.hexdigest()[:8]


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


__all__ = [
    "FOCUS_MIN_HITS",
    "context_key",
    "focus",
    "format_sources",
    "narrow",
    "neutralise",
    "new_key",
    "pack_context",
]
