"""Multi-turn chat over the index: each follow-up is rewritten into a standalone query before retrieval.

The rewrite is one /api/chat call without `format`, from prompts/condense.txt with the trimmed history. Without a
usable chat model (extractive mode) the previous question is prepended to the follow-up instead, which keeps its
key terms in the BM25 and dense queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ingest.chunking import estimate_tokens
from rag.answer import prompts
from rag.answer.types import Answer
from rag.errors import ModelNotFound, OllamaError, OllamaUnreachable

if TYPE_CHECKING:
    from rag.answer.engine import QueryEngine

HISTORY_TOKENS = 1500
"""History kept for the rewrite prompt; older turns are dropped first."""
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class Turn:
    """One exchange of the conversation."""

    question: str
    answer: str
    query: str
    """The standalone query the question was retrieved with."""


class ChatSession:
    """A conversation with the index. `ask(message) -> Answer`; `history` holds the turns kept.

    Args:
        engine: the collection's `QueryEngine` (from `RAG.chat()`).
        history_tokens: budget for the history sent to the rewrite prompt.
        **search: retrieval options for every turn (k, mode, path, file_types, mmr, min_score).
    """

    def __init__(
        self,
        engine: QueryEngine,
        *,
        history_tokens: int = HISTORY_TOKENS,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        **search: Any,
    ) -> None:
        self.engine = engine
        self.on_event = on_event
        """Progress callback: "rewriting" {model} before the follow-up rewrite call, then the engine's events."""
        self.history_tokens = history_tokens
        self.search = search
        self.history: list[Turn] = []

    def reset(self) -> None:
        """Forget the conversation."""
        self.history.clear()

    def condense(self, message: str) -> str:
        """The follow-up `message` rewritten as a standalone query (the message itself when there is no history)."""
        if not self.history:
            return message
        if self.engine.chat_available() is None:
            try:
                if self.on_event is not None:
                    self.on_event("rewriting", {"model": self.engine.settings.chat_model})
                return self._rewrite(message)
            except (ModelNotFound, OllamaUnreachable):
                pass
        return f"{self.history[-1].query} {message}"[-MAX_QUERY_CHARS:]

    def _rewrite(self, message: str) -> str:
        history = "\n".join(f"User: {t.question}\nAssistant: {t.answer}" for t in self.history)
        prompt = prompts.render(prompts.CONDENSE, self.engine.settings.prompts_dir, history=history, question=message)
        options = {"temperature": self.engine.settings.temperature, "seed": self.engine.settings.seed}
        try:
            reply = self.engine.backend().chat(
                self.engine.settings.chat_model, [{"role": "user", "content": prompt}], options=options
            )
        except (ModelNotFound, OllamaUnreachable):
            raise
        except OllamaError:
            return message
        lines = [ln.strip().strip('"“”') for ln in (reply.message.content or "").splitlines() if ln.strip()]
        return lines[0][:MAX_QUERY_CHARS] if lines else message

    def ask(self, message: str) -> Answer:
        """Answer `message` in the context of the conversation; the turn is added to the history."""
        query = self.condense(message)
        answer = self.engine.ask(message, query=query, on_event=self.on_event, **self.search)
        self._remember(message, answer)
        return answer

    def ask_stream(self, message: str) -> Iterator[str | Answer]:
        """Like `ask`, yielding answer text pieces first, then the `Answer`."""
        query = self.condense(message)
        for item in self.engine.ask_stream(message, query=query, on_event=self.on_event, **self.search):
            if isinstance(item, Answer):
                self._remember(message, item)
            yield item

    def _remember(self, message: str, answer: Answer) -> None:
        self.history.append(Turn(question=message, answer=answer.answer, query=answer.query or message))
        while len(self.history) > 1 and self._history_size() > self.history_tokens:
            self.history.pop(0)

    def _history_size(self) -> int:
        return sum(estimate_tokens(t.question) + estimate_tokens(t.answer) for t in self.history)


__all__ = ["HISTORY_TOKENS", "ChatSession", "Turn"]
