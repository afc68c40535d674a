"""The optional second check for small models (`answer_check="quote"`): one short yes/no call asking whether the
answer's quoted evidence answers the question.

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
REFUSED_WARNING = "the answer check found that the quoted evidence does not answer the question (answer_check=quote)"
FAILED_WARNING = "the answer check could not run ({detail}); the answer is kept unchecked"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check: `supported` is None when the check failed (`problem` says why)."""

    supported: bool | None
    reply: Any = None
    """The chat reply (for its token counts and durations), None when the call failed."""
    problem: str = ""


def check_prompt(question: str, answer: str, quotes: Sequence[str], prompts_dir: Any = None) -> str:
    """The user message of the check."""
    shown: list[str] = []
    used = 0
    for quote in quotes:
        quote = " ".join(quote.split())
        if shown and used + len(quote) > MAX_QUOTE_CHARS:
            break
        shown.append(f'- "{quote[:MAX_QUOTE_CHARS]}"')
        used += len(quote)
    return prompts.render(
        prompts.CHECK, prompts_dir, question=question, answer=answer, quotes="\n".join(shown) or "(none)"
    )


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
    messages = [{"role": "user", "content": check_prompt(question, answer, quotes, prompts_dir)}]
    opts = {k: v for k, v in options.items() if k in ("temperature", "seed")} | {"num_predict": CHECK_TOKENS}
    try:
        reply = backend.chat(model, messages, format=CHECK_SCHEMA, options=opts)
    except RagError as exc:
        return CheckResult(None, None, f"{type(exc).__name__}: {exc}")
    try:
        data = json.loads(reply.message.content or "")
        supported = data["supported"]
    except (ValueError, KeyError, TypeError):
        return CheckResult(None, reply, f'reply was not {{"supported": true|false}}: {reply.message.content!r:.80}')
    if not isinstance(supported, bool):
        return CheckResult(None, reply, f"'supported' was {supported!r}, not true or false")
    return CheckResult(supported, reply)


__all__ = ["CHECK_SCHEMA", "FAILED_WARNING", "REFUSED_WARNING", "CheckResult", "check_answer", "check_prompt"]
