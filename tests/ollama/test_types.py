"""Ollama's reply stats become milliseconds and token counts once, when parsed, and go back to its wire exactly."""

from __future__ import annotations

from rag.answer.types import Timings
from rag.ollama.types import ChatResponse, ModelStats, _chat_response, stats_from_wire, wire_stats

# The final object of a non-streamed /api/chat as Ollama documents it (numbers from its API reference).
FINAL = {
    "model": "llama3.2",
    "created_at": "2023-12-12T14:13:43.416799Z",
    "message": {"role": "assistant", "content": "Hello! How are you today?"},
    "done": True,
    "total_duration": 5191566416,
    "load_duration": 2154458,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 383809000,
    "eval_count": 298,
    "eval_duration": 4799921000,
}


def test_a_reply_parses_to_milliseconds_and_token_counts() -> None:
    reply = _chat_response(FINAL)
    assert isinstance(reply, ChatResponse) and reply.message.content == "Hello! How are you today?"
    assert reply.model_ms == 5191.566416 and reply.load_ms == 2.154458
    assert reply.prompt_eval_ms == 383.809 and reply.eval_ms == 4799.921
    assert (reply.prompt_tokens, reply.eval_tokens) == (26, 298)
    assert all(isinstance(getattr(reply, f), float) for f in ("model_ms", "load_ms", "prompt_eval_ms", "eval_ms"))


def test_wire_stats_gives_back_ollamas_exact_nanoseconds() -> None:
    stats = _chat_response(FINAL)
    wire = wire_stats(stats)
    assert wire == {k: v for k, v in FINAL.items() if k.endswith(("_duration", "_count"))}
    assert all(type(v) is int for v in wire.values())  # the official client declares them int


def test_missing_stats_stay_none_and_are_left_off_the_wire() -> None:
    reply = _chat_response({"model": "m", "message": {"content": "hi"}, "done": False})
    assert reply.model_ms is None and reply.eval_tokens is None
    assert wire_stats(reply) == {}
    assert wire_stats(Timings(retrieval_ms=3.0, total_ms=9.0)) == {}  # our own ms never leak onto Ollama's wire
    assert stats_from_wire({"eval_count": True, "total_duration": "5"}) == {}  # not numbers: ignored


def test_timings_have_no_nanosecond_field() -> None:
    fields = Timings().to_dict()
    assert set(fields) == {
        "model_ms",
        "load_ms",
        "prompt_eval_ms",
        "eval_ms",
        "prompt_tokens",
        "eval_tokens",
        "retrieval_ms",
        "total_ms",
    }
    assert set(ModelStats().to_dict()) < set(fields)
