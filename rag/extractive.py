"""Extractive answers: no chat model, just the best supporting sentences from the top chunks, each cited.

Used when chat_model is "none", when Ollama is unreachable, or when the chat model is not installed. Sentences are
scored by the share of the question's tokens (words, Han bigrams) they contain, weighted by how rare each token is
among the candidate sentences, plus a small bonus for better-ranked chunks; headings and fragments are skipped. Every quote is a verbatim slice of its chunk,
so every citation is verified by construction.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from rag.answer import NOT_FOUND, Answer, Timings, make_citation
from rag.retrieve import Hit
from rag.text import ENGLISH_STOPWORDS, normalize, tokenize

MAX_SENTENCES = 3
MIN_SHARE = 0.5
"""A sentence is kept when it scores at least this share of the best sentence's score."""
MAX_SENTENCE_CHARS = 400
MIN_TERMS = 3
"""Sentences with fewer distinct content terms (fragments, labels) are not quoted."""
_SENTENCE = re.compile(r".+?(?:[.!?]+(?=\s|$)|[。！？；]+|\n[ \t]*\n|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)|$)", re.S)
_MARKER = re.compile(r"(?:[-*•]|\d+[.)])\s+")
_RANK_BONUS = 0.05


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences in `text`, trimmed of surrounding whitespace.

    Splits after . ! ? followed by whitespace or the end, after 。！？；, at blank lines and before list items; a single
    line break (hard-wrapped text) does not end a sentence. List markers are not part of the sentence.
    """
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        marker = _MARKER.match(text, start, end)
        if marker:
            start = marker.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def _root(word: str) -> str:
    """Plural-stemmed word with -ing/-ed also removed (embedding, embedded -> embed), for sentence matching only."""
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and word.isascii():
            word = word[: -len(suffix)]
            if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word


def _terms(text: str) -> set[str]:
    return {_root(t) for t in tokenize(text, stem=True) if t not in ENGLISH_STOPWORDS}


def _candidates(hits: Sequence[Hit]) -> list[tuple[int, int, Hit, str, set[str]]]:
    """(rank, start, hit, sentence, terms) for every sentence worth quoting (headings and fragments skipped)."""
    out = []
    for rank, hit in enumerate(hits):
        headings = {normalize(h) for h in hit.heading_path}
        for start, end in split_sentences(hit.text):
            sentence = hit.text[start : min(end, start + MAX_SENTENCE_CHARS)]
            terms = _terms(sentence)
            if len(terms) >= MIN_TERMS and normalize(sentence.lstrip("#").strip()) not in headings:
                out.append((rank, start, hit, sentence, terms))
    return out


def pick_sentences(question: str, hits: Sequence[Hit], limit: int = MAX_SENTENCES) -> list[tuple[Hit, str, float]]:
    """The best (hit, sentence, score) triples for `question`, best first; empty when no sentence shares a term.

    score = idf-weighted share of the question's terms in the sentence (idf over the candidate sentences, so a term
    every sentence has counts little) + a small bonus for better-ranked chunks.
    """
    query = _terms(question)
    candidates = _candidates(hits)
    if not query or not candidates:
        return []
    n = len(candidates)
    weight = {t: math.log(1 + n / (1 + sum(t in c[4] for c in candidates))) for t in query}
    total = sum(weight.values())
    scored = []
    for rank, start, hit, sentence, terms in candidates:
        overlap = query & terms
        if overlap:
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
        if sentence not in seen:
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
    text = " ".join(f"{' '.join(c.quote.split())} [{c.n}]" for c in citations) if citations else NOT_FOUND
    return Answer(
        question=question, answerable=bool(citations), answer=text, mode="extractive", citations=citations,
        hits=tuple(hits), model=None, timings=timings or Timings(), warnings=tuple(warnings), query=query or question,
    )


__all__ = ["MAX_SENTENCES", "extractive_answer", "pick_sentences", "split_sentences"]
