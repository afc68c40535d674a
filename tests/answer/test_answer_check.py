"""The optional answer checks over the fake Ollama (real sockets): "quote" (yes/no) and "span" (copy the answering
words). A "no" abstains with the reason in warnings, a "yes" keeps the answer, a failed check keeps it with a
warning, "off" never calls."""

from __future__ import annotations

import json

from rag.answer.check import (
    CHECK_SCHEMA,
    CHECK_TOKENS,
    FAILED_WARNING,
    REFUSED_WARNING,
    SPAN_SCHEMA,
    SPAN_TOKENS,
    copied_from,
)
from rag.answer.generative import GenerativeAnswerer
from rag.answer.types import UNANSWERABLE
from rag.config import Settings
from rag.ollama import Client
from support.hits import HITS

QUOTE = "One vector per input."
ANSWER = json.dumps(
    {"citations": [{"id": "S1", "quote": QUOTE, "claim": "It returns one vector per input."}], "answerable": True}
)
QUESTION = "What does embed return?"


def _ask(ollama, check: str = "quote"):
    answerer = GenerativeAnswerer(
        Client(ollama.url, retries=0), Settings.resolve(chat_model="llama3.2", answer_check=check)
    )
    return answerer.answer(QUESTION, HITS)


def test_a_no_turns_the_answer_into_an_abstention_with_the_reason(ollama) -> None:
    ollama.chat_reply = [ANSWER, json.dumps({"supported": False})]
    answer = _ask(ollama)
    assert not answer.answerable and answer.answer == UNANSWERABLE
    assert answer.citations == () and answer.claims == ()
    reason = next(w for w in answer.warnings if w.startswith(REFUSED_WARNING.format(check="quote")))
    assert "one vector per input" in reason  # what it had answered, so nothing is lost
    check = ollama.bodies("/api/chat")[1]
    assert check["format"] == CHECK_SCHEMA and check["options"]["num_predict"] == CHECK_TOKENS
    prompt = check["messages"][-1]["content"]
    assert QUESTION in prompt and QUOTE in prompt


def test_a_yes_keeps_the_answer_and_counts_its_tokens(ollama) -> None:
    ollama.chat_reply = [ANSWER, json.dumps({"supported": True})]
    answer = _ask(ollama)
    assert answer.answerable and answer.answer.startswith("It returns one vector per input")
    assert [c.quote for c in answer.citations] == [QUOTE] and answer.citations[0].verified
    assert not any("answer check" in w for w in answer.warnings)
    assert ollama.count("/api/chat") == 2
    ollama.chat_reply = [ANSWER]
    unchecked = _ask(ollama, "off")
    assert (answer.timings.prompt_tokens or 0) > (unchecked.timings.prompt_tokens or 0)


def test_a_malformed_check_reply_keeps_the_answer_with_a_warning(ollama) -> None:
    ollama.chat_reply = [ANSWER, '{"supported": "maybe"}']
    answer = _ask(ollama)
    assert answer.answerable and answer.citations
    assert any(w.startswith(FAILED_WARNING.split("(")[0]) and "maybe" in w for w in answer.warnings)


def test_a_server_error_in_the_check_keeps_the_answer_with_a_warning(ollama) -> None:
    def reply(body: dict) -> str:
        ollama.fail_next(1, status=500, paths=["/api/chat"])  # the request after this one: the check
        return ANSWER

    ollama.chat_reply = reply
    answer = _ask(ollama)
    assert ollama.count("/api/chat") == 2
    assert answer.answerable and answer.citations
    assert any("answer check could not run" in w and "OllamaError" in w for w in answer.warnings)


def test_off_and_abstentions_make_no_check_call(ollama) -> None:
    ollama.chat_reply = [ANSWER]
    assert _ask(ollama, "off").answerable and ollama.count("/api/chat") == 1
    ollama.reset()
    ollama.chat_reply = [json.dumps({"citations": [], "answerable": False})]
    declined = _ask(ollama)
    assert not declined.answerable and ollama.count("/api/chat") == 1


def test_the_setting_is_validated_and_read_from_the_environment(monkeypatch) -> None:
    import pytest

    from rag.errors import ConfigError

    assert Settings.resolve().answer_check == "off"
    monkeypatch.setenv("RAG_ANSWER_CHECK", "quote")
    assert Settings.resolve().answer_check == "quote"
    monkeypatch.setenv("RAG_ANSWER_CHECK", "maybe")
    with pytest.raises(ConfigError, match="off, quote, span"):
        Settings.resolve()


def test_streaming_holds_the_text_back_until_the_check_passes(ollama) -> None:
    answerer = GenerativeAnswerer(
        Client(ollama.url, retries=0), Settings.resolve(chat_model="llama3.2", answer_check="quote")
    )
    ollama.chat_reply = [ANSWER, json.dumps({"supported": False})]
    *pieces, refused = answerer.stream(QUESTION, HITS)
    assert pieces == [] and not refused.answerable  # nothing the check refused reached the reader
    ollama.chat_reply = [ANSWER, json.dumps({"supported": True})]
    *pieces, kept = answerer.stream(QUESTION, HITS)
    assert "".join(pieces) == "It returns one vector per input." and kept.answerable


def test_the_span_check_keeps_an_answer_whose_words_it_copies_from_the_evidence(ollama) -> None:
    ollama.chat_reply = [ANSWER, json.dumps({"span": " One vector per INPUT. "})]
    answer = _ask(ollama, "span")
    assert answer.answerable and [c.quote for c in answer.citations] == [QUOTE]
    check = ollama.bodies("/api/chat")[1]
    assert check["format"] == SPAN_SCHEMA and check["options"]["num_predict"] == SPAN_TOKENS
    assert QUESTION in check["messages"][-1]["content"] and QUOTE in check["messages"][-1]["content"]


def test_the_span_check_abstains_on_an_empty_or_invented_copy(ollama) -> None:
    for span in ["", "  ...  ", "two vectors per input"]:
        ollama.reset()
        ollama.chat_reply = [ANSWER, json.dumps({"span": span})]
        answer = _ask(ollama, "span")
        assert not answer.answerable and answer.answer == UNANSWERABLE, span
        reason = next(w for w in answer.warnings if w.startswith(REFUSED_WARNING.format(check="span")))
        assert f"it copied {span!r}" in reason and "one vector per input" in reason


def test_a_malformed_span_reply_keeps_the_answer_with_a_warning(ollama) -> None:
    ollama.chat_reply = [ANSWER, '{"span": 3}']
    answer = _ask(ollama, "span")
    assert answer.answerable and any("answer check could not run" in w for w in answer.warnings)


def test_copied_from_ignores_case_spacing_and_edge_punctuation() -> None:
    quotes = ["The pump spins at 3000 rpm, day and night.", "东京是日本的首都。"]
    assert copied_from("3000  RPM", quotes) and copied_from("“3000 rpm,”", quotes)
    assert copied_from("日本的首都", quotes) and copied_from("「东京」", quotes)
    assert not copied_from("4000 rpm", quotes) and not copied_from("", quotes) and not copied_from("。，", quotes)
