"""From the model's evidence list to claims: group quotes per claim, check each claim against its own evidence,
scrub links, and write the answer text with inline `[n]` markers.

The answer schema asks, per item, for the source id, the verbatim quote, then the claim that quote supports
(evidence before verdict). Consecutive items with the same claim are one claim with several citations; an item with
no claim text supports the claim before it (or, first, stands as its own quote). A reply in the older shape (a
top-level "answer" and citations without claims) becomes one claim citing all of them.

Consistency is a cheap lexical check: a number or date in a claim that none of its verified quotes (nor the
question) contains, or a capitalised name that neither its cited chunks nor the question contain, flags the claim
"inconsistent" (a quote saying 1643 does not back a claim saying 1661). `strict` drops flagged and unsupported claims.

A claim that only restates the question ("Roger de Tosny failed to do what he set out to do" for "What year did Roger
de Tosny fail to do what he set out to do?": no content term the question lacks) does not answer it. It is replaced
by the whole sentences of the chunk that hold its verified quotes, flagged "restated", when they add something;
otherwise it is dropped. Yes/no questions are exempt: there a restatement is the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.sentences import split_sentences
from rag.answer.citations import cite_items
from rag.answer.links import scrub_links
from rag.answer.types import Citation, Claim
from rag.answer.verify import locate
from rag.retrieve.hybrid import Hit
from rag.retrieve.text import ENGLISH_STOPWORDS, compact, tokenize
from rag.vocab import ClaimFlag

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,:/-]\d+)*(?![\w])|(?<=[^\x00-\x7f])\d+(?:[.,:/-]\d+)*|\d+(?=[^\x00-\x7f])")
_NAME = re.compile(r"(?<![\w'’-])[A-Z][a-z]+(?:[A-Z][a-z]+)*(?![\w'’-])")
_SENTENCE_START = re.compile(r"[\s\"'“‘(\[*-]*")
_END = re.compile(r"([.!?。！？]+)$")
_PAST = re.compile(r"(?<=[a-z]{3})e?d$")
_YES_NO = re.compile(
    r"^\W*(?:is|are|was|were|am|do|does|did|can|could|will|would|shall|should|may|might|must|has|have|had)\b"
    r"|吗\W*$|是否|(\w)[不没]\1",  # 是不是, 需不需要, 有没有
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Assembled:
    """The claims of one reply, the citations they use (renumbered 1..n), and the answer text with markers."""

    claims: tuple[Claim, ...]
    citations: tuple[Citation, ...]
    text: str
    warnings: tuple[str, ...]


def _numbers(text: str) -> set[str]:
    return {m.group().replace(",", "") for m in _NUMBER.finditer(text)}


def mismatches(claim: str, quotes: Sequence[str], chunks: Sequence[str], question: str) -> list[str]:
    """The numbers and names of `claim` its evidence does not contain: numbers are looked up in `quotes` (what the
    claim rests on), names in the cited `chunks` (a quote often says "he"); the question's own terms always pass."""
    evidence_numbers = set().union(*(_numbers(q) for q in quotes)) | _numbers(question)
    out = [n for n in sorted(_numbers(claim)) if n not in evidence_numbers]
    haystack = compact(" ".join(chunks) + " " + question)
    for match in _NAME.finditer(claim):
        if _SENTENCE_START.fullmatch(claim[: match.start()]) or claim[: match.start()].rstrip().endswith(
            (".", "!", "?")
        ):
            continue  # a capital that starts a sentence says nothing
        if compact(match.group()) not in haystack and match.group() not in out:
            out.append(match.group())
    return out


def restates(claim: str, question: str) -> bool:
    """`claim` says nothing `question` did not (no content term of its own), and the question is not a yes/no one.

    >>> restates("Roger de Tosny failed to do it.", "What year did Roger de Tosny fail to do it?")
    True
    >>> restates("In 1018.", "What year did Roger de Tosny fail to do it?")
    False
    >>> restates("Ollama supports streaming.", "Does Ollama support streaming?")
    False
    """
    return not _YES_NO.search(question) and _words(claim) <= _words(question)


def _words(text: str) -> set[str]:
    """Content tokens, plurals and "-ed" folded ("failed" restates "fail"); not "-ing": "embeddings" answers "What
    does embed return?"."""
    return {_PAST.sub("", t) for t in tokenize(text, stem=True) if t not in ENGLISH_STOPWORDS}


def quoted_sentences(quotes: Sequence[str], chunks: Sequence[str]) -> str:
    """The whole sentences of `chunks[i]` that hold `quotes[i]`, each span once, joined by a space ("" when a quote
    cannot be placed). A quote found verbatim is placed by position, else by normalised containment."""
    found: list[str] = []
    for quote, chunk in zip(quotes, chunks, strict=False):
        spans = split_sentences(chunk)
        where = locate(quote, chunk)
        if where:
            picked = [(s, e) for s, e in spans if s < where[1] and e > where[0]]
        else:
            needle = compact(quote)
            picked = [(s, e) for s, e in spans if needle and _overlaps(needle, compact(chunk[s:e]))]
        if picked:
            text = " ".join(chunk[picked[0][0] : picked[-1][1]].split())
            if text not in found:
                found.append(text)
    return " ".join(found)


def _overlaps(a: str, b: str) -> bool:
    return bool(b) and (a in b or b in a)


def with_markers(text: str, numbers: Sequence[int]) -> str:
    """`text` with "[1][2]" before its final punctuation (or at its end)."""
    if not numbers:
        return text
    marks = "".join(f"[{n}]" for n in numbers)
    match = _END.search(text)
    if match:
        return f"{text[: match.start()].rstrip()} {marks}{match.group(1)}"
    return f"{text} {marks}"


def _groups(data: dict[str, Any]) -> list[tuple[str, list[int]]]:
    """(claim text, indices of its raw citation items), in order."""
    items = [i if isinstance(i, dict) else {} for i in (data.get("citations") or [])]
    if not any("claim" in i for i in items):
        return [(str(data.get("answer") or "").strip(), list(range(len(items))))]
    groups: list[tuple[str, list[int]]] = []
    for index, item in enumerate(items):
        claim = " ".join(str(item.get("claim") or "").split())
        if groups and (not claim or compact(claim) == compact(groups[-1][0])):
            groups[-1][1].append(index)
        else:
            groups.append((claim or " ".join(str(item.get("quote") or "").split()), [index]))
    return groups


def assemble(data: dict[str, Any], labels: dict[str, Hit], question: str, *, strict: bool) -> Assembled:
    """Claims, citations and marked-up answer text for a schema-valid reply `data` (see the module docstring)."""
    warnings: list[str] = []
    raw = [i if isinstance(i, dict) else {} for i in (data.get("citations") or [])]
    cited = cite_items(raw, labels, strict=strict, warnings=warnings)
    by_index: dict[int, Citation] = {index: c for c, index in cited}
    by_id = {h.id: h for h in labels.values()}
    claims: list[Claim] = []
    used: dict[int, Citation] = {}  # old n -> citation, in first-use order
    dropped = scrubbed = echoes = 0
    for said, indices in _groups(data):
        own = list(dict.fromkeys(by_index[i] for i in indices if i in by_index))
        if not said:
            continue
        verified = [c for c in own if c.verified]
        checked = _checked(said, verified, by_id, question)
        if checked is None:
            echoes += 1
            continue
        text, flags, problem = checked
        if problem:
            warnings.append(problem)
        evidence = [by_id[c.id].text for c in own if c.id in by_id]
        clean, removed = scrub_links(text, evidence)
        if removed:
            flags.append("link removed")
            scrubbed += len(removed)
        if strict and ("unsupported" in flags or "inconsistent" in flags):
            dropped += 1
            continue
        for c in own:
            used.setdefault(c.n, c)
        claims.append(Claim(text=clean, citations=tuple(c.n for c in own), verified=bool(verified), flags=tuple(flags)))
    renumber = {old: new for new, old in enumerate(used, 1)}
    citations = tuple(_renumbered(c, renumber[c.n]) for c in used.values())
    claims = [Claim(c.text, tuple(renumber[n] for n in c.citations), c.verified, c.flags) for c in claims]
    if scrubbed:
        warnings.append(
            f"removed {scrubbed} link(s) or image(s) that are not in the cited sources "
            "(a document may be trying to inject them)"
        )
    if echoes:
        warnings.append(f"dropped {echoes} claim(s) that only restated the question")
    if dropped:
        warnings.append(f"--strict: dropped {dropped} claim(s) without consistent verified support")
    text = " ".join(with_markers(c.text, c.citations) for c in claims)
    return Assembled(tuple(claims), citations, text, tuple(warnings))


def _checked(
    said: str, verified: Sequence[Citation], by_id: dict[str, Hit], question: str
) -> tuple[str, list[ClaimFlag], str | None] | None:
    """(claim text, flags, warning) for one claim and its verified citations; None when it only restates the question
    and its quotes' sentences add nothing either."""
    placed = [c for c in verified if c.id in by_id]
    if restates(said, question):
        sentences = quoted_sentences([c.quote for c in placed], [by_id[c.id].text for c in placed])
        if not sentences or restates(sentences, question):
            return None
        return sentences, ["restated"], f"a claim only restated the question ({said!r}): shown as the quoted sentences"
    if not verified:
        return said, ["unsupported"], None
    wrong = mismatches(said, [c.quote for c in placed], [by_id[c.id].text for c in placed], question)
    if wrong:
        return said, ["inconsistent"], f"a claim says {', '.join(wrong)}, which its cited evidence does not: {said!r}"
    return said, [], None


def _renumbered(citation: Citation, n: int) -> Citation:
    import dataclasses

    return citation if citation.n == n else dataclasses.replace(citation, n=n)


__all__ = ["Assembled", "assemble", "mismatches", "quoted_sentences", "restates", "with_markers"]
