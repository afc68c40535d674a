"""Per-claim answers over the fake Ollama (real sockets): evidence before verdict, inline markers, re-attribution,
and the lexical consistency check."""

from __future__ import annotations

import json
import re

from rag.answer.claims import mismatches, quoted_sentences, restates, with_markers
from rag.answer.generative import GenerativeAnswerer
from rag.answer.types import UNANSWERABLE
from rag.config import Settings
from rag.ollama import Client
from rag.vocab import CLAIM_FLAGS
from support.hits import HITS
from support.paths import REPO

QUESTION = "What does the embed endpoint return?"


def _generator(ollama, **overrides) -> GenerativeAnswerer:
    overrides.setdefault("context_sentences", 0)  # whole chunks: narrowing has its own tests (test_narrow.py)
    return GenerativeAnswerer(Client(ollama.url, retries=0), Settings.resolve(chat_model="llama3.2", **overrides))


def _reply(*items: tuple[str, str, str], answerable: bool = True) -> list[str]:
    return [
        json.dumps({"citations": [{"id": i, "quote": q, "claim": c} for i, q, c in items], "answerable": answerable})
    ]


def test_schema_puts_each_claim_before_its_quote_and_the_verdict_last(ollama) -> None:
    answer = _generator(ollama).answer(QUESTION, HITS)
    schema = ollama.bodies("/api/chat")[-1]["format"]
    assert list(schema["properties"]) == ["citations", "answerable"]
    assert list(schema["properties"]["citations"]["items"]["properties"]) == ["id", "claim", "quote"]
    assert schema["properties"]["citations"]["items"]["properties"]["id"]["enum"] == ["S1", "S2", "S3"]
    assert answer.answerable and answer.claims
    claim = answer.claims[0]
    assert claim.verified and claim.citations == (1,) and claim.flags == ()
    assert answer.answer == with_markers(claim.text, [1]) and "[1]" in answer.answer
    assert answer.to_dict()["claims"][0]["citations"] == [1]


def test_each_claim_carries_its_own_citations_and_markers(ollama) -> None:
    ollama.chat_reply = _reply(
        ("S1", "The embed endpoint returns a list of embeddings.", "It returns embeddings."),
        ("S1", "One vector per input.", "There is one vector per input."),
        ("S2", "Chat replies stream as JSON lines.", "There is one vector per input."),
    )
    answer = _generator(ollama).answer(QUESTION, HITS)
    assert [c.text for c in answer.claims] == ["It returns embeddings.", "There is one vector per input."]
    assert [c.citations for c in answer.claims] == [(1,), (2, 3)]
    assert answer.answer == "It returns embeddings [1]. There is one vector per input [2][3]."
    assert [c.id for c in answer.citations] == [HITS[0].id, HITS[0].id, HITS[1].id]


def test_a_quote_under_the_wrong_label_is_moved_to_the_chunk_that_has_it(ollama) -> None:
    ollama.chat_reply = _reply(("S1", "Chat replies stream as JSON lines.", "Replies stream as JSON lines."))
    answer = _generator(ollama).answer("How do chat replies stream?", HITS)
    (citation,) = answer.citations
    assert citation.id == HITS[1].id and citation.source == "docs/chat.md"
    assert citation.verified and citation.reattributed_from == HITS[0].id
    assert any("re-attributed" in w for w in answer.warnings)
    assert answer.claims[0].verified


def test_a_claim_whose_number_its_quote_does_not_have_is_flagged_and_strict_drops_it(ollama) -> None:
    items = (("S1", "One vector per input.", "There are 3 vectors per input."),)
    ollama.chat_reply = _reply(*items)
    loose = _generator(ollama).answer("How many vectors per input?", HITS)
    assert loose.claims[0].flags == ("inconsistent",) and any("says 3" in w for w in loose.warnings)
    ollama.chat_reply = _reply(*items)
    strict = _generator(ollama, strict=True).answer("How many vectors per input?", HITS)
    assert not strict.answerable and strict.claims == () and strict.citations == ()


def test_consistency_check_reads_numbers_from_quotes_and_names_from_chunks() -> None:
    chunk = "Louis XIV of France. He began his personal rule in 1661 after Mazarin died."
    assert mismatches("Louis began his rule in 1643.", ["He began his personal rule in 1661"], [chunk], "q") == ["1643"]
    assert mismatches("Louis began his rule in 1661.", ["He began his personal rule in 1661"], [chunk], "q") == []
    assert mismatches("It was built by Colbert in 1661.", ["rule in 1661"], [chunk], "q") == ["Colbert"]
    assert mismatches("It has 1,000 users.", ["1000 users"], ["1000 users"], "q") == []
    assert mismatches("他在1949年到达北京。", ["1949年，他到达北京"], ["1949年"], "q") == []


def test_verdict_false_or_no_claims_is_an_abstention(ollama) -> None:
    ollama.chat_reply = _reply(("S1", "One vector per input.", "One vector."), answerable=False)
    answer = _generator(ollama).answer("Who won the 1998 World Cup?", HITS)
    assert not answer.answerable and answer.answer == UNANSWERABLE and answer.claims == ()
    ollama.chat_reply = _reply()
    empty = _generator(ollama).answer("Who won the 1998 World Cup?", HITS)
    assert not empty.answerable and empty.citations == ()


def test_streamed_claims_are_the_final_claims(ollama) -> None:
    items = list(_generator(ollama).stream(QUESTION, HITS))
    pieces, final = items[:-1], items[-1]
    assert pieces and "".join(pieces) == " ".join(c.text for c in final.claims)
    assert re.search(r"\[1\]", final.answer)


def test_a_claim_that_only_restates_the_question_becomes_the_sentence_it_quoted(ollama) -> None:
    question = "What does the embed endpoint return for each input?"
    ollama.chat_reply = _reply(("S1", "One vector per input", "The embed endpoint returns it for each input."))
    answer = _generator(ollama).answer(question, HITS)
    (claim,) = answer.claims
    assert claim.text == "One vector per input." and claim.flags == ("restated",) and claim.verified
    assert answer.answer == "One vector per input [1]." and answer.citations[0].quote == "One vector per input"
    assert any("only restated the question" in w for w in answer.warnings)


def test_a_restating_claim_with_nothing_behind_it_is_dropped(ollama) -> None:
    question = "What does the embed endpoint return for each input?"
    ollama.chat_reply = _reply(
        ("S2", "Chat replies stream as JSON lines.", "Chat replies stream as JSON lines."),
        ("S1", "a quote that is in no source at all", "The embed endpoint returns it for each input."),
    )
    answer = _generator(ollama).answer(question, HITS)
    assert [c.text for c in answer.claims] == ["Chat replies stream as JSON lines."]
    assert any("dropped 1 claim(s) that only restated the question" in w for w in answer.warnings)
    ollama.chat_reply = _reply(("S1", "a quote that is in no source at all", "The embed endpoint returns it."))
    alone = _generator(ollama).answer(question, HITS)
    assert not alone.answerable and alone.claims == () and alone.answer == UNANSWERABLE


def test_restating_is_judged_by_content_terms_and_spares_yes_no_questions() -> None:
    question = "What year did Roger de Tosny fail to accomplish what he set out to do?"
    assert restates("Roger de Tosny failed to accomplish what he set out to do.", question)
    assert not restates("Roger de Tosny failed in 1018.", question)
    assert not restates("Streaming is supported.", "Is streaming supported?")
    assert not restates("代码需要修改。", "代码需不需要修改？")
    assert not restates("嵌入接口返回向量列表。", "嵌入接口返回什么？")
    assert restates("嵌入接口返回。", "嵌入接口返回什么？")
    chunk = "Dyrrachium held out. In 1018, Roger de Tosny travelled to Iberia, but failed. He went home."
    assert quoted_sentences(["Roger de Tosny travelled to Iberia"], [chunk]) == (
        "In 1018, Roger de Tosny travelled to Iberia, but failed."
    )
    assert quoted_sentences(["roger DE tosny travelled to iberia, but failed!"], [chunk]).startswith("In 1018")
    assert quoted_sentences(["not there"], [chunk]) == ""


def test_the_documented_claim_flags_are_the_vocabulary() -> None:
    schema = json.loads((REPO / "docs" / "answer.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["claim"]["properties"]["flags"]["items"]["enum"]) == CLAIM_FLAGS
