"""Answers as chat text for the Ollama and OpenAI faces: the answer, then its numbered sources."""

from __future__ import annotations

from typing import Any

from rag.answer.citations import page_label
from rag.answer.types import CLOSEST_HEADING, Answer


def sources_text(answer: Answer) -> str:
    """The block appended to the answer text: `Sources:` and one line per citation with its quote; for a declined
    answer, its closest passages under `CLOSEST_HEADING` instead. Empty when it has neither."""
    lines = []
    for c in answer.citations or answer.closest:
        where = " ".join(p for p in (c.source, page_label(c.page_start, c.page_end, c.ocr)) if p)
        heading = f" § {' > '.join(c.heading_path)}" if c.heading_path else ""
        quote = f': "{" ".join(c.quote.split())}"' if c.quote else ""
        lines.append(f"[{c.n}] {where}{heading}{quote}{'' if c.verified else ' (unverified)'}")
    title = "Sources:" if answer.citations else CLOSEST_HEADING
    return f"\n\n{title}\n" + "\n".join(lines) if lines else ""


def citations(answer: Answer) -> list[dict[str, Any]]:
    """The structured citations field (each `Citation.to_dict()`)."""
    return [c.to_dict() for c in answer.citations]


def closest(answer: Answer) -> list[dict[str, Any]]:
    """The structured closest-passages field of a declined answer (each `Citation.to_dict()`; empty otherwise)."""
    return [c.to_dict() for c in answer.closest]


def last_user_message(messages: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """The last user message, and the (question, answer) pairs before it (the history a chat session replays).

    >>> last_user_message([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
    ...                    {"role": "user", "content": "c"}])
    ('c', [('a', 'b')])
    """
    question = ""
    history: list[tuple[str, str]] = []
    pending: str | None = None
    for m in messages:
        role, content = m.get("role"), _content(m.get("content"))
        if role == "user":
            pending = content
            question = content
        elif role == "assistant" and pending is not None:
            history.append((pending, content))
            pending = None
    if not question or pending is None:
        raise ValueError("messages must end with a user message")
    return question, history


def _content(content: Any) -> str:
    """Message content as text: a string, or OpenAI's list of parts (text parts joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


__all__ = ["citations", "closest", "last_user_message", "sources_text"]
