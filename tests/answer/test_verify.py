"""rag.answer.verify: quotes checked against the cited chunk (normalised, whitespace- and CJK-safe, fuzzy)."""

from __future__ import annotations

from rag.answer.verify import VERIFY_THRESHOLD, locate, match_score, verify_quote

EN = (
    "The /api/embed endpoint returns a list of embeddings, one per input string.\n"
    "It accepts a truncate flag. Streaming is not supported for embeddings."
)
ZH = "Ollama 提供 REST API。\n嵌入接口返回 向量列表，每个输入一个。"


def test_exact_quote_verifies_with_score_one() -> None:
    assert verify_quote("returns a list of embeddings", EN) == (True, 1.0)


def test_case_whitespace_line_breaks_and_punctuation_do_not_matter() -> None:
    assert verify_quote("RETURNS a  list\nof embeddings one per input string", EN) == (True, 1.0)
    assert verify_quote("“one per input string.”", EN)[0]


def test_chinese_quote_matches_across_inserted_spaces_and_line_breaks() -> None:
    assert verify_quote("嵌入接口返回向量列表", ZH) == (True, 1.0)
    assert verify_quote("REST API。嵌入接口", ZH) == (True, 1.0)


def test_small_typos_still_verify_but_below_one() -> None:
    ok, score = verify_quote("returns a list of embedings, one per inpt string", EN)
    assert ok and VERIFY_THRESHOLD <= score < 1.0


def test_paraphrase_and_invented_text_do_not_verify() -> None:
    assert not verify_quote("The endpoint gives back float vectors for every document", EN)[0]
    assert not verify_quote("模型返回文本", ZH)[0]
    assert not verify_quote("", EN)[0]


def test_ellipsis_quotes_are_checked_piece_by_piece() -> None:
    assert verify_quote("The /api/embed endpoint ... accepts a truncate flag", EN) == (True, 1.0)
    assert verify_quote("The /api/embed endpoint … accepts a truncate flag", EN) == (True, 1.0)
    ok, score = verify_quote("The /api/embed endpoint ... accepts images and audio", EN)
    assert not ok and score < VERIFY_THRESHOLD


def test_sentences_quoted_together_without_the_gap_mark_each_verify() -> None:
    """Shown the best sentences of a chunk with "…" between them, models often quote two of them without it."""
    zh = "野驴在黄昏觅食。它们主要吃草和叶子。它们最高每小时可跑七十公里。"
    assert verify_quote("野驴在黄昏觅食。 它们最高每小时可跑七十公里。", zh) == (True, 1.0)
    assert verify_quote("The /api/embed endpoint returns a list of embeddings. It accepts a truncate flag.", EN)[0]
    ok, score = verify_quote("野驴在黄昏觅食。它们每天飞越高山和大海去远方。", zh)  # the second sentence is invented
    assert not ok and score < VERIFY_THRESHOLD
    assert not verify_quote("It accepts a truncate flag. Streaming of embeddings is the default mode.", EN)[0]


def test_score_is_lower_for_worse_matches() -> None:
    assert match_score("returns a list of embeddings", EN) > match_score("returns a set of vectors", EN)


def test_locate_finds_verbatim_spans_only() -> None:
    start, end = locate("  a truncate flag ", EN)
    assert EN[start:end] == "a truncate flag"
    assert locate("A TRUNCATE FLAG", EN) is None


def test_a_bare_title_is_present_but_too_short_to_support_anything() -> None:
    text = "Packet_switching\n\nPacket switching is a method of grouping data into packets."
    assert verify_quote("Packet_switching", text) == (False, 1.0)
    assert verify_quote("a method of grouping data", text)[0]
    assert verify_quote("人口1694人", "2006年人口1694人。")[0]  # three units: a short CJK quote still counts
    assert not verify_quote("1694人", "2006年人口1694人。")[0]
