"""Extractive answers: no chat model, just the best supporting sentences from the top chunks, each cited.

Used when chat_model is "none", when Ollama is unreachable, or when the chat model is not installed. Sentences are
scored by the share of the question's tokens (words, Han bigrams) they contain, weighted by how rare each token is
among the candidate sentences, plus small bonuses for better-ranked chunks and for sentences in the question's script
(an English question over bilingual documents is answered in English); code and JSON blocks count half, and
headings and fragments are skipped. Sentences come from `rag.answer.sentences` (abbreviation-aware). A sentence that
ends
in ":" brings the code block or list after it (bounded); a chunk with no quotable sentence offers its list items
(under its heading) as one quote; sentences in the question's script are used when any matches (others only when
none does); a quote that overlaps an already picked one (neighbouring chunks overlap) is skipped. Code blocks are
rendered as fenced code in the answer. Every quote is a verbatim slice of its chunk, so every citation is verified
by construction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ingest.sentences import split_sentences
from rag.answer.citations import make_citation
from rag.answer.types import NOT_FOUND, Answer, Citation, Claim, Timings
from rag.retrieve.hybrid import Hit
from rag.retrieve.text import ENGLISH_STOPWORDS, compact, normalize, reads_cjk, tokenize

MAX_SENTENCES = 3
CLOSEST_PASSAGES = 2
"""Sentences a declined generative answer shows as the closest passages (`closest_passages`)."""
MIN_SHARE = 0.5
"""A sentence is kept when it scores at least this share of the best sentence's score."""
MAX_SENTENCE_CHARS = 400
MIN_TERMS = 3
"""Sentences with fewer distinct content terms (fragments, labels) are not quoted."""
MAX_BLOCK_CHARS = 600
"""A lead-in sentence ending in ":" brings at most this much of the code block or list that follows."""
MAX_LIST_ITEMS = 8
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_LIST_LINE = re.compile(r"^[ \t]*(?:[-*•+]|\d+[.)])[ \t]+\S", re.MULTILINE)
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


def _looks_like_code(sentence: str) -> bool:
    """A code fence, or text dense in the punctuation of code and JSON."""
    return "```" in sentence or sum(c in _CODE_CHARS for c in sentence) > 0.08 * len(sentence)


def _is_list_item(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return _LIST_LINE.match(text, line_start) is not None and line_start <= start


def _block_after(text: str, spans: list[tuple[int, int]], i: int) -> int:
    """End of the code block or list that follows span i (bounded), or span i's own end when none does."""
    end = spans[i][1]
    limit = spans[i][0] + MAX_BLOCK_CHARS
    if i + 1 < len(spans) and text[spans[i + 1][0] :].startswith(("```", "~~~")):
        return spans[i + 1][1] if spans[i + 1][1] <= limit + MAX_BLOCK_CHARS else end
    items = 0
    for start, stop in spans[i + 1 :]:
        if not _is_list_item(text, start) or stop > limit or items >= MAX_LIST_ITEMS:
            break
        end, items = stop, items + 1
    return end


def _script_neutral(quote: str) -> bool:
    """Code, or a quote whose letters are mostly in paths and identifiers: in no natural language."""
    if quote.lstrip().startswith(("```", "~~~")):
        return True
    covered = [False] * len(quote)
    for m in (*_IDENTIFIER.finditer(quote), *_INLINE_CODE.finditer(quote)):
        covered[m.start() : m.end()] = [True] * (m.end() - m.start())
    letters = sum(c.isalpha() for c in quote)
    in_ids = sum(c.isalpha() for c, inside in zip(quote, covered, strict=False) if inside)
    return letters > 0 and in_ids * 2 >= letters


def _candidates(hits: Sequence[Hit]) -> list[tuple[int, int, int, Hit, str, set[str]]]:
    """(rank, start, end, hit, quote, terms) for every sentence worth quoting (headings and fragments skipped)."""
    out: list[tuple[int, int, int, Hit, str, set[str]]] = []
    for rank, hit in enumerate(hits):
        headings = {normalize(h) for h in hit.heading_path}
        spans = split_sentences(hit.text)
        found = len(out)
        for i, (start, end) in enumerate(spans):
            sentence = hit.text[start:end]
            if sentence.rstrip().endswith((":", "：")):
                end = _block_after(hit.text, spans, i)
            elif end - start > MAX_SENTENCE_CHARS:
                end = start + MAX_SENTENCE_CHARS
            quote = hit.text[start:end]
            terms = _terms(quote)
            if len(terms) >= MIN_TERMS and normalize(sentence.lstrip("#").strip()) not in headings:
                out.append((rank, start, end, hit, quote, terms))
        items = [(a, b) for a, b in spans if _is_list_item(hit.text, a)][:MAX_LIST_ITEMS]
        if items and (len(out) == found or len(items) >= 2):
            # a list under a heading (paths, options): the whole list is a quote, about what its heading says
            start, end = items[0][0], items[-1][1]
            quote = hit.text[start:end]
            terms = _terms(quote) | _terms(" ".join(hit.heading_path[-1:]))
            if len(terms) >= MIN_TERMS and end - start <= MAX_BLOCK_CHARS:
                out.append((rank, start, end, hit, quote, terms))
    return out


def rank_sentences(question: str, hits: Sequence[Hit]) -> list[tuple[float, int, int, int, Hit, str]]:
    """Every quotable sentence of `hits` that shares a term with `question`, as (score, rank, start, end, hit,
    quote), best first; in the question's script only, when any of its sentences matches.

    score = idf-weighted share of the question's terms in the sentence (idf over the candidate sentences, so a term
    every sentence has counts little; whole identifiers such as OLLAMA_HOST count double) + small bonuses for
    better-ranked chunks and for the question's script; halved for code and JSON.
    """
    query = _terms(question)
    candidates = _candidates(hits)
    if not query or not candidates:
        return []
    n = len(candidates)
    weight = {t: math.log(1 + n / (1 + sum(t in c[5] for c in candidates))) for t in query}
    for t in _identifiers(question):  # a whole identifier is the most specific evidence a question holds
        weight[t] *= _IDENTIFIER_WEIGHT
    total = sum(weight.values())
    question_cjk = reads_cjk(question)
    scored = []
    for rank, start, end, hit, quote, terms in candidates:
        overlap = query & terms
        if overlap:
            score = sum(weight[t] for t in overlap) / total + _RANK_BONUS / (rank + 1)
            same = reads_cjk(quote) == question_cjk or _script_neutral(quote)
            score += _SAME_SCRIPT_BONUS if same else 0.0
            lead = quote.split("```", 1)[0] if "```" in quote and not quote.startswith("```") else quote
            score *= _CODE_FACTOR if _looks_like_code(lead) else 1.0
            scored.append((score, rank, start, end, hit, quote, same))
    if any(s[6] for s in scored):  # the question's language first: others only when none of its sentences matches
        scored = [s for s in scored if s[6]]
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    return [s[:6] for s in scored]


def distinct(ranked: Sequence[tuple[float, int, int, int, Hit, str]]) -> list[tuple[float, int, int, int, Hit, str]]:
    """`ranked` without a quote that overlaps or repeats a better one (neighbouring chunks overlap)."""
    kept = []
    taken: list[tuple[str, int, int, str]] = []  # (source, document start, end, compact text) of kept quotes
    for item in ranked:
        _, _, start, end, hit, quote = item
        where = (hit.source, hit.char_start + start, hit.char_start + end)
        text = compact(quote)
        if any(_overlaps(where, t) or text in t[3] or t[3] in text for t in taken):
            continue
        taken.append((*where, text))
        kept.append(item)
    return kept


def pick_sentences(question: str, hits: Sequence[Hit], limit: int = MAX_SENTENCES) -> list[tuple[Hit, str, float]]:
    """The best (hit, sentence, score) triples for `question`, best first, each scoring at least `MIN_SHARE` of the
    best (`rank_sentences`), overlaps skipped; empty when no sentence shares a term."""
    ranked = rank_sentences(question, hits)
    if not ranked:
        return []
    best = ranked[0][0]
    good = [r for r in ranked if r[0] >= best * MIN_SHARE]
    return [(hit, quote, round(score, 4)) for score, _, _, _, hit, quote in distinct(good)[:limit]]


def _overlaps(a: tuple[str, int, int], b: tuple[str, int, int, str]) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def render_quote(quote: str, n: int) -> str:
    """A quote as answer text with its marker: prose on one line, code blocks kept as fenced code."""
    if "```" not in quote and "~~~" not in quote:
        return f"{' '.join(quote.split())} [{n}]"
    fence = "```" if "```" in quote else "~~~"
    lead, _, rest = quote.partition(fence)
    lead = " ".join(lead.split())
    block = fence + rest.rstrip()
    if not block.endswith(fence):
        block += "\n" + fence
    return f"{lead} [{n}]\n\n{block}\n" if lead else f"[{n}]\n\n{block}\n"


def closest_passages(question: str, hits: Sequence[Hit], limit: int = CLOSEST_PASSAGES) -> tuple[Citation, ...]:
    """The `limit` sentences of `hits` that best match `question` (`pick_sentences`) as verbatim citations: what a
    declined answer shows the reader, who may find the answer there when the model did not."""
    return tuple(
        make_citation(n, hit, sentence, verified=True, score=1.0)
        for n, (hit, sentence, _) in enumerate(pick_sentences(question, hits, limit), 1)
    )


def extractive_answer(
    question: str, hits: Sequence[Hit], *, query: str = "", timings: Timings | None = None, warnings: Sequence[str] = ()
) -> Answer:
    """An answer made of cited sentences from `hits` (mode "extractive"); "not found" when none shares a term."""
    picked = pick_sentences(query or question, hits)
    citations = tuple(
        make_citation(n, hit, sentence, verified=True, score=1.0) for n, (hit, sentence, _) in enumerate(picked, 1)
    )
    parts = [render_quote(c.quote, c.n) for c in citations]
    text = "\n".join(parts) if any("\n" in p for p in parts) else " ".join(parts)
    claims = tuple(
        Claim(
            text=" ".join(c.quote.split()) if "```" not in c.quote else c.quote.strip(), citations=(c.n,), verified=True
        )
        for c in citations
    )
    return Answer(
        question=question,
        answerable=bool(citations),
        answer=text.strip() if citations else NOT_FOUND,
        mode="extractive",
        citations=citations,
        hits=tuple(hits),
        model=None,
        timings=timings or Timings(),
        warnings=tuple(warnings),
        query=query or question,
        claims=claims,
    )


__all__ = [
    "CLOSEST_PASSAGES",
    "MAX_SENTENCES",
    "closest_passages",
    "distinct",
    "extractive_answer",
    "pick_sentences",
    "rank_sentences",
    "render_quote",
    "split_sentences",
]
