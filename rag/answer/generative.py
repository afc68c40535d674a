"""The generative answer: one POST /api/chat with the per-question JSON schema, validated, retried once, verified.

The model sees the packed hits as sources "S1".."Sk"; the schema's citation `id` is an enum of exactly those labels,
so the model cannot cite anything else, and `build_citations` drops any other id defensively. A reply that is not
JSON valid for the schema is retried once; a second failure raises `ModelOutputError` (the CLI prints it and exits
2), whether the model broke the JSON or ignored `format` altogether.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ingest.chunking import estimate_tokens
from rag.answer import prompts
from rag.answer.check import FAILED_WARNING, REFUSED_WARNING, CheckResult, check_answer, check_span
from rag.answer.citations import source_ids
from rag.answer.claims import assemble
from rag.answer.context import context_key, format_sources, narrow, pack_context
from rag.answer.extractive import closest_passages
from rag.answer.partial_json import StringFieldStream
from rag.answer.types import UNANSWERABLE, Answer, Timings
from rag.config import Settings
from rag.errors import ModelOutputError
from rag.ollama.types import ModelStats
from rag.retrieve.hybrid import Hit

ANSWER_TOKENS = 1024
"""Room left in num_ctx for the reply."""
NUM_CTX_STEP = 512
"""num_ctx is rounded up to a multiple of this (fewer distinct sizes: fewer model reloads)."""
BAD_OUTPUT_MESSAGE = (
    "The chat model {model!r} did not return JSON matching the answer schema, twice ({detail}). "
    "Use a model that supports structured outputs (Ollama 0.5 or later, e.g. `--chat-model llama3.2`), "
    "or `--chat-model none` for extractive answers."
)
UNSUPPORTED_WARNING = (
    "the model's answer has no verified citation: nothing in the sources backs it (--strict refuses it)"
)
UNSUPPORTED_ANSWER = "The model's answer had no verified support in the indexed documents."
LABELS_ONLY_WARNING = "the model answered with source ids only; read the cited sources"
_LABELS_ONLY = re.compile(r"\[?S\d+\]?(?:\s*(?:,|and|、|和)?\s*\[?S\d+\]?)*[.。]?")
_context_lengths: dict[tuple[str, str], int | None] = {}


class ChatBackend(Protocol):
    """What the answerer needs from `rag.ollama.Client` (or `rag.answer.llamacpp.LlamaCppChat`)."""

    def chat(self, model: str, messages: Sequence[Any], **kwargs: Any) -> Any: ...

    def show(self, model: str) -> Any: ...


@dataclass(frozen=True)
class _Request:
    hits: tuple[Hit, ...]
    labels: dict[str, Hit]
    schema: dict[str, Any]
    messages: list[dict[str, str]]
    options: dict[str, Any]
    warnings: tuple[str, ...]


class _InvalidReply(Exception):
    pass


def parse_reply(content: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The reply as a dict valid for `schema`; raises _InvalidReply naming the problem."""
    import jsonschema  # ~90 ms to import: only paid when a model reply is validated

    try:
        data = json.loads(content)
    except ValueError as exc:
        where = f"{exc.msg} at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _InvalidReply(f"not JSON: {where}") from exc
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise _InvalidReply(f"schema violation at {where}: {exc.message}") from exc
    return data


class GenerativeAnswerer:
    """Answers with a chat model over retrieved hits.

    Args:
        backend: object with `.chat()` and `.show()` like `rag.ollama.Client`.
        settings: model, temperature, seed, context budget, prompts folder, strictness.
    """

    def __init__(self, backend: ChatBackend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings
        self.model = settings.chat_model

    def context_length(self) -> int | None:
        """The model's context length from /api/show (cached per server and model)."""
        key = (str(getattr(self.backend, "host", id(self.backend))), self.model)
        if key not in _context_lengths:
            _context_lengths[key] = self.backend.show(self.model).context_length
        return _context_lengths[key]

    def _request(self, question: str, hits: Sequence[Hit]) -> _Request:
        warnings: list[str] = []
        cap = self.context_length()
        system = prompts.render(prompts.SYSTEM, self.settings.prompts_dir)
        overhead = estimate_tokens(system) + estimate_tokens(question) + 64
        budget = self.settings.context_tokens
        if cap:
            budget = min(budget, max(cap - ANSWER_TOKENS - overhead, 256))
        packed = pack_context(hits, budget)
        if len(packed) < len(hits):
            warnings.append(f"context budget ({budget} tokens) fits {len(packed)} of {len(hits)} retrieved chunks")
        shown = narrow(question, packed, self.settings.context_sentences)
        packed = [hit for hit, _ in shown]
        labels = dict(zip(source_ids(packed), packed, strict=False))
        key = context_key(question, shown)
        system = system.replace("KEY is the same random key", f"KEY is {key}, the same random key")
        user = prompts.render(
            prompts.USER,
            self.settings.prompts_dir,
            context=format_sources([replace(hit, text=text) for hit, text in shown], key),
            question=question,
            ids=", ".join(labels),
            key=key,
        )
        needed = overhead + sum(estimate_tokens(text) + 20 for _, text in shown) + ANSWER_TOKENS
        num_ctx = -(-needed // NUM_CTX_STEP) * NUM_CTX_STEP
        if cap:
            num_ctx = min(num_ctx, cap)
        options = {
            "temperature": self.settings.temperature,
            "seed": self.settings.seed,
            "num_ctx": num_ctx,
            "num_predict": self.settings.max_answer_tokens,
        }  # a looping model stops there
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        schema = prompts.answer_schema(list(labels), self.settings.prompts_dir)
        return _Request(tuple(packed), labels, schema, messages, options, tuple(warnings))

    def _call(self, req: _Request) -> Any:
        return self.backend.chat(self.model, req.messages, format=req.schema, options=req.options)

    def answer(self, question: str, hits: Sequence[Hit], *, query: str = "", retrieval_ms: float = 0.0) -> Answer:
        """Ask the model; return the verified answer. Raises ModelOutputError after one failed retry, OllamaError."""
        req = self._request(question, hits)
        replies, data = self._reply_with_retry(req, [])
        return self._finish(question, req, data, replies, query or question, retrieval_ms)

    def stream(
        self, question: str, hits: Sequence[Hit], *, query: str = "", retrieval_ms: float = 0.0
    ) -> Iterator[str | Answer]:
        """Like `answer`, but yields the answer text in pieces as it is generated, then the final `Answer`. With
        an answer check on, the text is held back until the check has passed (a refused answer is never shown)."""
        if self.settings.answer_check != "off":
            final_answer = self.answer(question, hits, query=query, retrieval_ms=retrieval_ms)
            if final_answer.answerable:
                yield " ".join(c.text for c in final_answer.claims) or final_answer.answer
            yield final_answer
            return
        req = self._request(question, hits)
        claims = "claim" in json.dumps(req.schema)
        field = StringFieldStream("claim", nested=True) if claims else StringFieldStream("answer")
        content: list[str] = []
        final: Any = None
        for chunk in self.backend.chat(self.model, req.messages, format=req.schema, options=req.options, stream=True):
            piece = chunk.message.content or ""
            content.append(piece)
            text = field.feed(piece)
            if text:
                yield text
            if chunk.done:
                final = chunk
        replies = [final] if final is not None else []
        try:
            data = parse_reply("".join(content), req.schema)
        except _InvalidReply as exc:
            more, data = self._reply_with_retry(req, [str(exc)])
            replies += more
            if not field.done:
                yield (
                    str(data.get("answer", ""))
                    if not claims
                    else " ".join(str(c.get("claim", "")) for c in data.get("citations") or [] if isinstance(c, dict))
                )
        yield self._finish(question, req, data, replies, query or question, retrieval_ms)

    def _reply_with_retry(self, req: _Request, problems: list[str]) -> tuple[list[Any], dict[str, Any]]:
        replies = []
        while len(problems) < 2:
            reply = self._call(req)
            replies.append(reply)
            try:
                return replies, parse_reply(reply.message.content or "", req.schema)
            except _InvalidReply as exc:
                problems.append(str(exc))
        raise ModelOutputError(BAD_OUTPUT_MESSAGE.format(model=self.model, detail="; ".join(problems)))

    def _check(self, question: str, said: str, quotes: list[str], options: dict[str, Any]) -> CheckResult:
        """The answer check the settings ask for (`answer_check`, not "off")."""
        prompts_dir = self.settings.prompts_dir
        if self.settings.answer_check == "span":
            return check_span(self.backend, self.model, question, quotes, options=options, prompts_dir=prompts_dir)
        return check_answer(self.backend, self.model, question, said, quotes, options=options, prompts_dir=prompts_dir)

    def _finish(
        self, question: str, req: _Request, data: dict[str, Any], replies: list[Any], query: str, retrieval_ms: float
    ) -> Answer:
        warnings = list(req.warnings)
        answerable = bool(data.get("answerable", True))
        built = assemble(data, req.labels, question, strict=self.settings.strict)
        warnings += built.warnings
        claims, citations, text = built.claims, built.citations, built.text.strip()
        refused = answerable and not text and any("--strict: dropped" in w and "claim" in w for w in built.warnings)
        if not text:
            answerable = False
        if not answerable:
            claims, citations = (), ()
            text = UNSUPPORTED_ANSWER if refused else str(data.get("answer") or "").strip() or UNANSWERABLE
        elif _LABELS_ONLY.fullmatch(" ".join(c.text for c in claims) or text):
            warnings.append(LABELS_ONLY_WARNING)
        if answerable and not any(c.verified for c in citations):
            warnings.append(UNSUPPORTED_WARNING)
            if self.settings.strict:
                answerable, text, citations, claims = False, UNSUPPORTED_ANSWER, (), ()
        last = replies[-1] if replies else None
        if answerable and self.settings.answer_check != "off":
            quotes = [c.quote for c in citations if c.verified] + [c.quote for c in citations if not c.verified]
            said = " ".join(c.text for c in claims) or text
            check = self._check(question, said, quotes, req.options)
            if check.reply is not None:
                replies = [*replies, check.reply]
            if check.supported is None:
                warnings.append(FAILED_WARNING.format(detail=check.problem))
            elif not check.supported:
                copied = f"; it copied {check.span!r}" if self.settings.answer_check == "span" else ""
                why = REFUSED_WARNING.format(check=self.settings.answer_check)
                warnings.append(f"{why}{copied}; it had answered: {said!r}")
                answerable, text, citations, claims = False, UNANSWERABLE, (), ()
        closest = () if answerable else closest_passages(query or question, req.hits)
        num_ctx = req.options["num_ctx"]
        if last is not None and (last.prompt_tokens or 0) >= num_ctx - 1:
            warnings.append(
                f"the prompt used {last.prompt_tokens} tokens of num_ctx={num_ctx}: it may have been cut; "
                "lower context_tokens or -k"
            )
        if last is not None and last.done_reason == "length":
            warnings.append("the model stopped at its length limit: the answer may be incomplete")
        return Answer(
            question=question,
            answerable=answerable,
            answer=text,
            mode="generative",
            citations=citations,
            hits=req.hits,
            model=self.model,
            timings=_timings(replies, retrieval_ms),
            warnings=tuple(warnings),
            query=query,
            claims=claims,
            closest=closest,
        )


def _timings(replies: Sequence[Any], retrieval_ms: float) -> Timings:
    def total(name: str) -> float | None:
        values = [getattr(r, name) for r in replies if getattr(r, name, None) is not None]
        return round(sum(values), 6) if values else None

    names = [f.name for f in dataclasses.fields(ModelStats)]
    return Timings(retrieval_ms=round(retrieval_ms, 3), **{n: total(n) for n in names})  # type: ignore[arg-type]


__all__ = ["ANSWER_TOKENS", "BAD_OUTPUT_MESSAGE", "ChatBackend", "GenerativeAnswerer", "parse_reply"]
