"""The optional second check for small models: one short call after the answer, about its quoted evidence.
`answer_check="quote"` asks yes/no whether the evidence answers the question; `"span"` asks the model to copy the
answering words out of the evidence, and an empty copy, or one that is not in the evidence word for word, is a no
(copying is a task small models do more reliably than judging).

Small models almost never declare a question unanswerable in the answer schema itself; asked separately about a
finished answer and its quotes, with a one-field boolean schema and a few tokens to write, they can. The verdict is
advisory evidence, not a new answer: a failed check (server error, timeout, malformed reply) keeps the answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer import prompts
from rag.errors import RagError

CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"supported": {"type": "boolean"}},
    "required": ["supported"],
}
CHECK_TOKENS = 16
"""num_predict of the check: `{"supported": false}` is about 7 tokens."""
MAX_QUOTE_CHARS = 1500
"""Quoted evidence shown to the check, at most (the first quotes first)."""
SPAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"span": {"type": "string"}},
    "required": ["span"],
}
SPAN_TOKENS = 48
"""num_predict of the span check: a short phrase, copied."""
REFUSED_WARNING = "the answer check found that the quoted evidence does not answer the question (answer_check={check})"
FAILED_WARNING = "the answer check could not run ({detail}); the answer is kept unchecked"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: `supported` is None when the check failed (`problem` says why)."""

    supported: bool | None
    reply: Any = None
    """The chat reply (for its token counts and durations), None when the call failed."""
    problem: str = ""
    span: str = ""
    """What the model copied (answer_check="span")."""


def _shown(quotes: Sequence[str]) -> list[str]:
    """The quotes shown to a check, first ones first, within MAX_QUOTE_CHARS."""
    shown: list[str] = []
    used = 0
    for quote in quotes:
        quote = " ".join(quote.split())
        if shown and used + len(quote) > MAX_QUOTE_CHARS:
            break
        shown.append(quote[:MAX_QUOTE_CHARS])
        used += len(quote)
    return shown


def check_prompt(question: str, answer: str, quotes: Sequence[str], prompts_dir: Any = None) -> str:
    """The user message of the yes/no check."""
    listed = "\n".join(f'- "{q}"' for q in _shown(quotes)) or "(none)"
    return prompts.render(prompts.CHECK, prompts_dir, question=question, answer=answer, quotes=listed)


def span_prompt(question: str, quotes: Sequence[str], prompts_dir: Any = None) -> str:
    """The user message of the span check."""
    listed = "\n".join(f'- "{q}"' for q in _shown(quotes)) or "(none)"
    return prompts.render(prompts.SPAN, prompts_dir, question=question, quotes=listed)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def copied_from(span: str, quotes: Sequence[str]) -> bool:
    """Whether `span` (with a letter or digit in it) is in one of `quotes` word for word, ignoring case, spacing and
    the punctuation around it."""
    core = _folded(span).strip(_EDGE)
    return any(ch.isalnum() for ch in core) and any(core in _folded(q) for q in quotes)


_EDGE = " \t\"'`.,;:!?()[]{}\u201c\u201d\u2018\u2019\u3002\uff0c\uff1b\uff1a\uff01\uff1f\u300c\u300d\u300a\u300b"
"""Punctuation a copied span may carry at its ends (ASCII, curly quotes, Chinese full-width marks)."""


def _field(
    backend: Any, model: str, content: str, field: str, tokens: int, options: dict[str, Any]
) -> tuple[Any, Any, str]:
    """One short schema-constrained call whose reply is `{field: ...}`: (reply, value, problem); the reply is None
    when the call failed, the problem empty when the value was read."""
    schema = SPAN_SCHEMA if field == "span" else CHECK_SCHEMA
    opts = {k: v for k, v in options.items() if k in ("temperature", "seed")} | {"num_predict": tokens}
    try:
        reply = backend.chat(model, [{"role": "user", "content": content}], format=schema, options=opts)
    except RagError as exc:
        return None, None, f"{type(exc).__name__}: {exc}"
    try:
        return reply, json.loads(reply.message.content or "")[field], ""
    except (ValueError, KeyError, TypeError):
        return reply, None, f'reply was not {{"{field}": ...}}: {reply.message.content!r:.80}'


def check_answer(
    backend: Any,
    model: str,
    question: str,
    answer: str,
    quotes: Sequence[str],
    *,
    options: dict[str, Any],
    prompts_dir: Any = None,
) -> CheckResult:
    """Ask `model` whether `quotes` answer `question`; never raises for a model or server failure."""
    content = check_prompt(question, answer, quotes, prompts_dir)
    reply, supported, problem = _field(backend, model, content, "supported", CHECK_TOKENS, options)
    if problem:
        return CheckResult(None, reply, problem)
    if not isinstance(supported, bool):
        return CheckResult(None, reply, f"'supported' was {supported!r}, not true or false")
    return CheckResult(supported, reply)


def check_span(
    backend: Any,
    model: str,
    question: str,
    quotes: Sequence[str],
    *,
    options: dict[str, Any],
    prompts_dir: Any = None,
) -> CheckResult:
    """Ask `model` to copy the words of `quotes` that answer `question`: supported when it copied a non-empty phrase
    that is in the quotes word for word. Never raises for a model or server failure."""
    content = span_prompt(question, quotes, prompts_dir)
    reply, span, problem = _field(backend, model, content, "span", SPAN_TOKENS, options)
    if problem:
        return CheckResult(None, reply, problem)
    if not isinstance(span, str):
        return CheckResult(None, reply, f"'span' was {span!r}, not a string")
    return CheckResult(copied_from(span, _shown(quotes)), reply, span=span)


__all__ = [
    "CHECK_SCHEMA",
    "FAILED_WARNING",
    "REFUSED_WARNING",
    "SPAN_SCHEMA",
    "CheckResult",
    "check_answer",
    "check_prompt",
    "check_span",
    "copied_from",
    "span_prompt",
]
