"""Extractive answers: no chat model, just the best supporting sentences from the top chunks, each cited.

Used when chat_model is "none", when Ollama is unreachable, or when the chat model is not installed. Sentences are
scored by the share of the question's tokens (words, Han bigrams) they contain, weighted by how rare each token is
among the candidate sentences, plus small bonuses for better-ranked chunks and for sentences in the question's script
(an English question over bilingual documents is answered in English); code and JSON blocks count half, and
headings and fragments are skipped. Every quote is a verbatim slice of its chunk, so every citation is verified by
construction.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rag.answer.citations import make_citation
from rag.answer.types import NOT_FOUND, Answer, Timings
from rag.retrieve.hybrid import Hit
from rag.retrieve.text import ENGLISH_STOPWORDS, is_cjk, normalize, tokenize

MAX_SENTENCES = 3
MIN_SHARE = 0.5
"""A sentence is kept when it scores at least this share of the best sentence's score."""
MAX_SENTENCE_CHARS = 400
MIN_TERMS = 3
"""Sentences with fewer distinct content terms (fragments, labels) are not quoted."""
_SENTENCE = re.compile(r".+?(?:[.!?]+(?=\s|$)|[。！？；]+|\n[ \t]*\n|\n(?=[ \t]*(?:[-*•]|\d+[.)])\s)|$)", re.S)
_MARKER = re.compile(r"(?:[-*•]|\d+[.)])\s+")
_IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[_./][A-Za-z0-9]+)+|/[A-Za-z0-9]+(?:/[A-Za-z0-9_]+)+")
_RANK_BONUS = 0.05
_SAME_SCRIPT_BONUS = 0.1
_IDENTIFIER_WEIGHT = 2.0
_CODE_FACTOR = 0.5
_CODE_CHARS = frozenset('{}[]"=<>;')
_CJK_QUESTION_WORDS = frozenset(
    {"如何", "什么", "怎么", "怎样", "哪些", "哪个", "哪里", "是否", "可以", "为什", "么样", "多少", "请问", "一下"}
)
"""Han bigrams of question words: as uninformative for matching as English stopwords."""


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
    """Content tokens, plus compound identifiers whole (OLLAMA_HOST, keep_alive, /api/embed) so they match as units."""
    terms = {_root(t) for t in tokenize(text, stem=True) if t not in ENGLISH_STOPWORDS and t not in _CJK_QUESTION_WORDS}
    return terms | _identifiers(text)


def _identifiers(text: str) -> set[str]:
    return {m.group().casefold() for m in _IDENTIFIER.finditer(text)}


def _mostly_cjk(text: str) -> bool:
    """True when at least a third of the letters are Han/Kana (the text reads as Chinese or Japanese)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(is_cjk(c) for c in letters) * 3 >= len(letters)


def _looks_like_code(sentence: str) -> bool:
    """A code fence, or text dense in the punctuation of code and JSON."""
    return "```" in sentence or sum(c in _CODE_CHARS for c in sentence) > 0.08 * len(sentence)


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
    every sentence has counts little; whole identifiers such as OLLAMA_HOST count double) + small bonuses for
    better-ranked chunks and for the question's script; halved for code and JSON.
    """
    query = _terms(question)
    candidates = _candidates(hits)
    if not query or not candidates:
        return []
    n = len(candidates)
    weight = {t: math.log(1 + n / (1 + sum(t in c[4] for c in candidates))) for t in query}
    for t in _identifiers(question):  # a whole identifier is the most specific evidence a question holds
        weight[t] *= _IDENTIFIER_WEIGHT
    total = sum(weight.values())
    question_cjk = _mostly_cjk(question)
    scored = []
    for rank, start, hit, sentence, terms in candidates:
        overlap = query & terms
        if overlap:
            score = sum(weight[t] for t in overlap) / total + _RANK_BONUS / (rank + 1)
            score += _SAME_SCRIPT_BONUS if _mostly_cjk(sentence) == question_cjk else 0.0
            score *= _CODE_FACTOR if _looks_like_code(sentence) else 1.0
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
