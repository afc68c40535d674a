"""Extractive answers: no chat model, just the best supporting sentences from the top chunks, each cited.

Used when chat_model is "none", when Ollama is unreachable, or when the chat model is not installed. Sentences are
scored by the share of the question's tokens (words, Han bigrams) they contain, weighted by how rare each token is
among the retrieved chunks, plus a small bonus for better-ranked chunks. Every quote is a verbatim slice of its chunk,
so every citation is verified by construction.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from rag.answer import NOT_FOUND, Answer, Timings, make_citation
from rag.retrieve import Hit
from rag.text import ENGLISH_STOPWORDS, tokenize

MAX_SENTENCES = 3
MIN_SHARE = 0.5
"""A sentence is kept when it scores at least this share of the best sentence's score."""
MAX_SENTENCE_CHARS = 400
_SENTENCE = re.compile(r".+?(?:[.!?]+(?=\s|$)|[。！？；]+|\n|$)", re.S)
_RANK_BONUS = 0.05


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences in `text`, trimmed of surrounding whitespace.

    Splits after . ! ? followed by a space or the end, after 。！？； and at line breaks. Works for mixed English/Chinese.
    """
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _terms(text: str) -> set[str]:
    return {t for t in tokenize(text, stem=True) if t not in ENGLISH_STOPWORDS}


def pick_sentences(question: str, hits: Sequence[Hit], limit: int = MAX_SENTENCES) -> list[tuple[Hit, str, float]]:
    """The best (hit, sentence, score) triples for `question`, best first; empty when no sentence shares a term."""
    query = _terms(question)
    if not query or not hits:
        return []
    chunk_terms = [_terms(h.text) for h in hits]
    weight = {t: math.log(1 + (len(hits) + 1) / (1 + sum(t in ct for ct in chunk_terms))) for t in query}
    total = sum(weight.values())
    scored: list[tuple[float, int, int, Hit, str]] = []
    for rank, hit in enumerate(hits):
        for start, end in split_sentences(hit.text):
            sentence = hit.text[start:end]
            if len(sentence) > MAX_SENTENCE_CHARS:
                sentence = sentence[:MAX_SENTENCE_CHARS]
            overlap = query & _terms(sentence)
            if not overlap:
                continue
            score = sum(weight[t] for t in overlap) / total + _RANK_BONUS / (rank + 1)
            scored.append((score, rank, start, hit, sentence))
    if not scored:
        return []
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    best = scored[0][0]
    picked: list[tuple[Hit, str, float]] = []
    seen: set[str] = set()
    for score, _, _, hit, sentence in scored:
        if score < best * MIN_SHARE or len(picked) >= limit:
            break
        if sentence in seen:
            continue
        seen.add(sentence)
        picked.append((hit, sentence, round(score, 4)))
    return picked


def extractive_answer(
    question: str, hits: Sequence[Hit], *, query: str = "", timings: Timings | None = None, warnings: Sequence[str] = ()
) -> Answer:
    """An answer made of cited sentences from `hits` (mode "extractive"); "not found" when none shares a term."""
    picked = pick_sentences(query or question, hits)
    citations = tuple(
        make_citation(n, hit, sentence, verified=True, score=1.0) for n, (hit, sentence, _) in enumerate(picked, 1)
    )
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations) if citations else NOT_FOUND
    return Answer(
        question=question, answerable=bool(citations), answer=text, mode="extractive", citations=citations,
        hits=tuple(hits), model=None, timings=timings or Timings(), warnings=tuple(warnings), query=query or question,
    )


__all__ = ["MAX_SENTENCES", "extractive_answer", "pick_sentences", "split_sentences"]
