"""What the chat faces (Ollama, OpenAI) share: model names as collections, and one streamed answer per request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from rag.answer.chat import Turn
from rag.answer.types import CLOSEST_HEADING, REVISED_HEADING, Answer, streamed_text
from rag.server.rags import RagPool
from rag.server.text import last_user_message, sources_text

MODEL_PREFIX = "rag:"
"""Collections appear as models named `rag:<collection>`."""
SOURCES_MARK = "\n\nSources:\n"
CLOSEST_MARK = f"\n\n{CLOSEST_HEADING}\n"
REVISED_MARK = f"\n\n{REVISED_HEADING}\n"


def model_name(collection: str) -> str:
    return f"{MODEL_PREFIX}{collection}"


def collection_of(model: str, default: str) -> str:
    """The collection a model name means: `rag:NAME` or `NAME` (a `:latest` tag is ignored; `rag` alone: default).

    >>> collection_of("rag:manuals", "default"), collection_of("rag", "default"), collection_of("notes:latest", "d")
    ('manuals', 'default', 'notes')
    """
    name = model.strip()
    if name.endswith(":latest"):
        name = name[: -len(":latest")]
    if name in ("", "rag"):
        return default
    return name[len(MODEL_PREFIX) :] if name.startswith(MODEL_PREFIX) else name


@dataclass
class ChatReply:
    """One answer to a chat request, as text pieces: the answer as it streams, then its sources block."""

    pieces: Iterator[str | Answer]
    streamed: list[str] = field(default_factory=list)
    answer: Answer | None = None
    """The final `Answer`, once `text()` has been read to the end."""

    def text(self) -> Iterator[str]:
        """Text pieces; the final `Answer` is kept in `self.answer`."""
        for item in self.pieces:
            if isinstance(item, Answer):
                self.answer = item
                if not self.streamed and item.answer:
                    yield item.answer  # an abstention streams nothing: send its text now
                elif item.mode == "generative" and streamed_text(item) != " ".join("".join(self.streamed).split()):
                    yield f"{REVISED_MARK}{item.answer}"  # the checks changed what was streamed
                tail = sources_text(item)
                if tail:
                    yield tail
            elif item:
                self.streamed.append(item)
                yield item


def _answer_only(text: str) -> str:
    """A previous reply of ours without its sources or closest-passages block, and its verified text only when the
    checks revised what was streamed (history replays the answer only)."""
    answer = text.split(SOURCES_MARK, maxsplit=1)[0].split(CLOSEST_MARK, maxsplit=1)[0]
    return answer.rsplit(REVISED_MARK, maxsplit=1)[-1]


def start_chat(pool: RagPool, model: str, messages: list[dict[str, Any]]) -> ChatReply:
    """Start answering the last user message of `messages` over the collection `model` names (earlier turns are
    the chat history). Retrieval runs now, so its errors raise before a response starts."""
    question, history = last_user_message(messages)
    rag = pool.get(collection_of(model, pool.base.settings.collection))
    session = rag.chat()
    session.history = [Turn(question=q, answer=_answer_only(a), query=q) for q, a in history]
    stream = session.ask_stream(question)
    first = next(stream)
    return ChatReply(chain([first], stream))


def prompt_messages(prompt: str) -> list[dict[str, Any]]:
    """`/api/generate`'s prompt as a one-turn chat."""
    return [{"role": "user", "content": prompt}]


__all__ = ["MODEL_PREFIX", "ChatReply", "collection_of", "model_name", "prompt_messages", "start_chat"]
