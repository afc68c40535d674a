"""Answer schema, reply validation with one retry, citations limited to the retrieved set, streaming, over the fake
Ollama (real sockets)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from rag.answer import prompts
from rag.answer.citations import build_citations
from rag.answer.context import pack_context
from rag.answer.extractive import CLOSEST_PASSAGES
from rag.answer.generative import (
    LABELS_ONLY_WARNING,
    UNSUPPORTED_ANSWER,
    UNSUPPORTED_WARNING,
    GenerativeAnswerer,
    _InvalidReply,
    parse_reply,
)
from rag.answer.partial_json import StringFieldStream
from rag.config import Settings
from rag.errors import ModelOutputError
from rag.ollama import Client
from support.hits import HITS, make_hit

LABELS = ["S1", "S2", "S3"]


def _generator(ollama, **overrides) -> GenerativeAnswerer:
    overrides.setdefault("context_sentences", 0)  # whole chunks: narrowing has its own tests (test_narrow.py)
    return GenerativeAnswerer(Client(ollama.url, retries=0), Settings.resolve(chat_model="llama3.2", **overrides))


def test_schema_enum_is_exactly_the_given_ids() -> None:
    schema = prompts.answer_schema(LABELS)
    assert schema["properties"]["citations"]["items"]["properties"]["id"]["enum"] == LABELS
    assert set(schema["required"]) == {"answerable", "citations"}  # per-claim items, verdict last
    assert list(schema["properties"]) == ["citations", "answerable"]
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(ValueError):
        prompts.answer_schema([])


def test_parse_reply_rejects_bad_json_and_foreign_ids() -> None:
    schema = prompts.answer_schema(LABELS)
    good = {"citations": [{"id": "S2", "quote": "q", "claim": "x"}], "answerable": True}
    assert parse_reply(json.dumps(good), schema) == good
    with pytest.raises(_InvalidReply, match="not JSON"):
        parse_reply('{"answer": "cut', schema)
    with pytest.raises(_InvalidReply, match="citations/0/id"):
        parse_reply(json.dumps(good | {"citations": [{"id": "secret.pdf", "quote": "q", "claim": "x"}]}), schema)


def test_prompt_override_folder_replaces_a_single_file(tmp_path) -> None:
    (tmp_path / "system.txt").write_text("Answer like a pirate.", encoding="utf-8")
    assert prompts.render(prompts.SYSTEM, tmp_path) == "Answer like a pirate."
    assert "$question" not in prompts.render(prompts.USER, tmp_path, question="Q?", context="C", ids="S1")
    assert "Question: Q?" in prompts.render(prompts.USER, tmp_path, question="Q?", context="C", ids="S1")


def test_build_citations_drops_unknown_ids_and_numbers_the_rest() -> None:
    warnings: list[str] = []
    raw = [
        {"id": "S1", "quote": "returns a list of embeddings"},
        {"id": "S9", "quote": "x"},
        {"id": "secret.pdf", "quote": "y"},
        {"id": "S1", "quote": "returns a list of embeddings"},
        {"id": "S2", "quote": "made-up words nowhere in the chunk"},
    ]
    citations = build_citations(raw, dict(zip(LABELS, HITS, strict=False)), strict=False, warnings=warnings)
    assert [(c.n, c.id, c.verified) for c in citations] == [(1, HITS[0].id, True), (2, HITS[1].id, False)]
    assert citations[0].page_start == 3 and citations[0].source == "docs/api.md"
    assert citations[0].char_start == 100 + HITS[0].text.index("returns")  # document offsets of the quote
    assert any("not retrieved" in w for w in warnings)
    strict = build_citations(raw, dict(zip(LABELS, HITS, strict=False)), strict=True, warnings=warnings)
    assert [c.id for c in strict] == [HITS[0].id]


def test_pack_context_keeps_rank_order_within_budget() -> None:
    long = [make_hit(str(i) * 32, "word " * 100, rank=i) for i in range(1, 6)]
    packed = pack_context(long, 300)
    assert 1 <= len(packed) < 5 and packed == long[: len(packed)]
    assert pack_context(long, 1) == long[:1]


def test_generative_answer_cites_only_retrieved_chunks(ollama) -> None:
    answer = _generator(ollama).answer("What does the embed endpoint return?", HITS)
    assert answer.mode == "generative" and answer.answerable
    assert answer.citations and {c.id for c in answer.citations} <= {h.id for h in HITS}
    assert all(c.verified for c in answer.citations)  # the fake quotes real sentences from the context
    body = ollama.bodies("/api/chat")[-1]
    assert body["format"]["properties"]["citations"]["items"]["properties"]["id"]["enum"] == LABELS
    assert body["options"]["temperature"] == 0 and body["options"]["seed"] == 42
    assert 1024 < body["options"]["num_ctx"] <= 131072
    assert answer.timings.eval_tokens and answer.timings.model_ms == 5.0  # one call: the fake's 5_000_000 ns
    assert "secret.pdf" not in {c.source for c in answer.citations}


def test_injected_citation_outside_the_set_is_dropped(ollama) -> None:
    ollama.chat_reply = [
        json.dumps({"citations": [{"id": "S3", "quote": "cite secret.pdf", "claim": "see secret"}], "answerable": True})
    ]
    answer = _generator(ollama).answer("What is the secret?", HITS)
    assert [c.source for c in answer.citations] == ["docs/evil.md"]  # cited only as the retrieved chunk it is
    ollama.chat_reply = [
        json.dumps({"answerable": True, "answer": "x", "citations": [{"id": "secret.pdf", "quote": "q", "claim": "x"}]})
    ] * 2
    with pytest.raises(ModelOutputError):  # the enum forbids it: schema violation twice
        _generator(ollama).answer("What is the secret?", HITS)


def test_unverified_quote_is_marked_and_strict_drops_it(ollama) -> None:
    reply = json.dumps(
        {
            "answerable": True,
            "citations": [
                {"id": "S1", "quote": "One vector per input.", "claim": "Vectors."},
                {"id": "S2", "quote": "Chat replies are carried by pigeons.", "claim": ""},
            ],
        }
    )
    ollama.chat_reply = [reply]
    answer = _generator(ollama).answer("q", HITS)
    assert [c.verified for c in answer.citations] == [True, False]
    ollama.chat_reply = [reply]
    strict = _generator(ollama, strict=True).answer("q", HITS)
    assert [c.quote for c in strict.citations] == ["One vector per input."]
    assert any("strict" in w for w in strict.warnings)


def test_answer_without_verified_support_is_flagged_and_strict_refuses_it(ollama) -> None:
    uncited = json.dumps({"answerable": True, "answer": "Vectors.", "citations": []})
    ollama.chat_reply = [uncited]
    answer = _generator(ollama).answer("q", HITS)
    assert answer.answerable and answer.answer == "Vectors." and UNSUPPORTED_WARNING in answer.warnings
    ollama.chat_reply = [uncited]
    strict = _generator(ollama, strict=True).answer("q", HITS)
    assert not strict.answerable and strict.answer == UNSUPPORTED_ANSWER and strict.citations == ()
    supported = json.dumps(
        {"answerable": True, "citations": [{"id": "S1", "quote": "One vector per input.", "claim": "S1"}]}
    )
    ollama.chat_reply = [supported]
    labels_only = _generator(ollama).answer("q", HITS)
    assert UNSUPPORTED_WARNING not in labels_only.warnings and LABELS_ONLY_WARNING in labels_only.warnings


def test_model_says_unanswerable(ollama) -> None:
    ollama.chat_reply = [
        json.dumps({"answerable": False, "citations": [{"id": "S1", "quote": "One vector per input.", "claim": "x"}]})
    ]
    answer = _generator(ollama).answer("Who won the 1998 World Cup?", HITS)
    assert not answer.answerable and answer.citations == () and answer.answer
    assert answer.mode == "generative"


def test_a_declined_answer_shows_the_closest_passages_and_an_answered_one_none(ollama) -> None:
    declined = json.dumps({"answerable": False, "citations": []})
    ollama.chat_reply = [declined]
    answer = _generator(ollama).answer("What does the embed endpoint return for each input?", HITS)
    assert not answer.answerable and answer.citations == ()
    assert 1 <= len(answer.closest) <= CLOSEST_PASSAGES
    assert [c.n for c in answer.closest] == list(range(1, len(answer.closest) + 1))
    by_id = {h.id: h for h in HITS}
    for c in answer.closest:  # verbatim sentences of what the model read, located in their document
        assert c.verified and c.quote in by_id[c.id].text
        assert c.char_start == by_id[c.id].char_start + by_id[c.id].text.index(c.quote)
    assert answer.closest[0].source == "docs/api.md"
    assert answer.to_dict()["closest"][0]["quote"] == answer.closest[0].quote

    ollama.chat_reply = [declined]
    assert _generator(ollama).answer("zzz qqq xxx", HITS).closest == ()  # no sentence shares a term: none
    ollama.chat_reply = [
        json.dumps(
            {
                "citations": [{"id": "S1", "claim": "One vector per input.", "quote": "One vector per input."}],
                "answerable": True,
            }
        )
    ]
    answered = _generator(ollama).answer("What does the embed endpoint return for each input?", HITS)
    assert answered.answerable and answered.closest == ()


def test_invalid_json_is_retried_once_then_raises(ollama) -> None:
    ollama.malformed_json = True
    with pytest.raises(ModelOutputError, match="twice"):
        _generator(ollama).answer("q", HITS)
    assert ollama.count("/api/chat") == 2
    ollama.reset()
    ollama.chat_reply = ['{"broken', json.dumps({"answerable": True, "answer": "ok", "citations": []})]
    answer = _generator(ollama).answer("q", HITS)
    assert answer.answer == "ok" and ollama.count("/api/chat") == 2


def test_model_ignoring_format_gives_a_clear_error(ollama) -> None:
    ollama.ignore_format = True
    with pytest.raises(ModelOutputError, match="structured outputs"):
        _generator(ollama).answer("q", HITS)


def test_num_ctx_is_capped_by_the_model_context_length(ollama) -> None:
    ollama.models["llama3.2:latest"]["context_length"] = 1500
    gen = GenerativeAnswerer(
        Client(ollama.url, retries=0), Settings.resolve(chat_model="llama3.2", context_tokens=100000)
    )
    hits = [make_hit(str(i) * 32, f"Sentence number {i} is here. " * 40, rank=i) for i in range(1, 7)]
    answer = gen.answer("q", hits)
    assert ollama.bodies("/api/chat")[-1]["options"]["num_ctx"] <= 1500
    assert len(answer.hits) < len(hits) and any("context budget" in w for w in answer.warnings)


def test_streaming_yields_pieces_then_the_verified_answer(ollama) -> None:
    items = list(_generator(ollama).stream("What does the embed endpoint return?", HITS))
    pieces, final = items[:-1], items[-1]
    assert len(pieces) >= 2 and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces) == " ".join(c.text for c in final.claims)  # the final answer adds the [n] markers
    assert final.answer.startswith(final.claims[0].text.rstrip("."))
    assert final.citations and all(c.id in {h.id for h in HITS} for c in final.citations)
    assert ollama.bodies("/api/chat")[-1]["stream"] is True


def test_stream_error_mid_answer_raises(ollama) -> None:
    from rag.errors import OllamaError

    ollama.mid_stream_error = "model runner crashed"
    with pytest.raises(OllamaError, match="crashed"):
        list(_generator(ollama).stream("q", HITS))


@pytest.mark.parametrize("text", ["plain", 'quote " and \\ backslash', "中文 é 😀 \n\t", ""])
def test_partial_json_field_stream_decodes_any_split(text: str) -> None:
    for ensure_ascii in (True, False):
        doc = json.dumps(
            {"answerable": True, "citations": [{"answer": "decoy"}], "answer": text, "x": {"answer": "no"}},
            ensure_ascii=ensure_ascii,
        )
        for size in (1, 2, 3, 7):
            field = StringFieldStream("answer")
            got = "".join(field.feed(doc[i : i + size]) for i in range(0, len(doc), size))
            assert got == text and field.done


def test_answer_to_dict_follows_the_documented_schema(ollama) -> None:
    from support.paths import REPO

    schema = json.loads((REPO / "docs" / "answer.schema.json").read_text(encoding="utf-8"))
    answer = _generator(ollama).answer("What does the embed endpoint return?", HITS)
    jsonschema.validate(json.loads(json.dumps(answer.to_dict())), schema)
    broken = answer.to_dict() | {"mode": "guessed"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_an_invented_quote_cited_under_every_source_is_one_unverified_citation() -> None:
    # a looping 1.5B model cited one sentence found in no chunk under every id (BENCHMARKS.md, 2026-12-07)
    invented = "Packet switching is a type of network protocol."
    raw = [{"id": label, "quote": invented} for label in LABELS] + [
        {"id": "S1", "quote": "returns a list of embeddings"}
    ]
    warnings: list[str] = []
    citations = build_citations(raw, dict(zip(LABELS, HITS, strict=False)), strict=False, warnings=warnings)
    assert [(c.n, c.verified) for c in citations] == [(1, False), (2, True)]
    assert citations[0].quote == invented and citations[1].id == HITS[0].id


def test_the_question_comes_after_the_sources_in_every_language(ollama, tmp_path) -> None:
    zh = [make_hit("c1", "服务器默认监听 11434 端口。", "docs/zh.md")]
    en = [make_hit("c2", "The server listens on port 11434 by default.", "docs/en.md")]
    for question, shown in (("服务器默认监听哪个端口？", zh), ("Which port does the server listen on?", en)):
        _generator(ollama).answer(question, shown)
        user = ollama.bodies("/api/chat")[-1]["messages"][-1]["content"]
        assert user.count(question) == 1 and user.index("11434") < user.index(question)
    (tmp_path / "user.txt").write_text("MINE $question $context", "utf-8")
    user = prompts.render(prompts.USER, tmp_path, question="端口是多少？", context="[S1] SOURCE TEXT [/S1]")
    assert user == "MINE 端口是多少？ [S1] SOURCE TEXT [/S1]"  # a user's own user.txt wins for every language
