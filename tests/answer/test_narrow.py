"""The chat model reads only the sentences that best match the question (`context_sentences`): unit checks on
`narrow`, then the prompt and the verified citations over the fake Ollama (real sockets)."""

from __future__ import annotations

from rag.answer.context import narrow
from rag.answer.generative import GenerativeAnswerer
from rag.config import Settings
from rag.ollama import Client
from support.hits import make_hit

EMBED = (
    "Ollama runs models on your own machine. "
    "The embed endpoint returns one vector per input, normalised to unit length. "
    "Vectors are lists of floats. "
    "The server listens on port 11434 by default. "
    "Batching inputs makes the embed endpoint return vectors faster."
)
GARDEN = "Tomatoes like the morning sun. Water them before noon. Compost helps the soil."
QUESTION = "What does the embed endpoint return for each input?"


def _hits():
    return [make_hit("c1", EMBED, "docs/embed.md", rank=1), make_hit("c2", GARDEN, "docs/garden.md", rank=2)]


def test_narrow_keeps_the_best_sentences_in_document_order() -> None:
    shown = narrow(QUESTION, _hits(), 2)
    assert [hit.id for hit, _ in shown] == ["c1"]  # the garden chunk shares no term: not shown at all
    text = shown[0][1]
    assert "one vector per input" in text and "return vectors faster" in text
    assert "port 11434" not in text and "Ollama runs models" not in text
    assert text.index("one vector per input") < text.index("return vectors faster")
    assert " … " in text  # two sentences that are not neighbours: the gap is marked
    assert all(part in EMBED for part in text.split(" … "))  # every piece is verbatim chunk text


def test_neighbouring_sentences_are_joined_without_a_gap_mark() -> None:
    shown = narrow("unit length of vectors, lists of floats", _hits(), 2)
    text = shown[0][1]
    assert "one vector per input, normalised to unit length. Vectors are lists of floats." in text
    assert " … " not in text


def test_neighbouring_chinese_sentences_keep_the_chunk_spacing() -> None:
    zh = "嵌入接口返回向量列表。每个输入得到一个向量。服务器默认监听11434端口。"
    shown = narrow("嵌入接口返回什么向量？", [make_hit("z1", zh, "docs/zh.md", rank=1)], 2)
    assert shown[0][1] == "嵌入接口返回向量列表。每个输入得到一个向量。"  # verbatim: no space added between them


def test_zero_or_no_shared_term_shows_whole_chunks() -> None:
    hits = _hits()
    assert narrow(QUESTION, hits, 0) == [(h, h.text) for h in hits]
    assert narrow("zzz qqq", hits, 3) == [(h, h.text) for h in hits]


def test_the_model_reads_the_narrowed_text_and_quotes_verify_against_the_chunk(ollama) -> None:
    settings = Settings.resolve(chat_model="llama3.2", context_sentences=2)
    answer = GenerativeAnswerer(Client(ollama.url, retries=0), settings).answer(QUESTION, _hits())
    body = ollama.bodies("/api/chat")[-1]
    user = body["messages"][-1]["content"]
    assert "one vector per input" in user and "port 11434" not in user and "Tomatoes" not in user
    assert body["format"]["properties"]["citations"]["items"]["properties"]["id"]["enum"] == ["S1"]
    assert answer.citations and all(c.verified and c.source == "docs/embed.md" for c in answer.citations)
    assert [h.id for h in answer.hits] == ["c1"]
