"""Extractive answers: best supporting sentences from the retrieved chunks, cited, no model."""

from __future__ import annotations

from rag.answer.extractive import extractive_answer, pick_sentences, split_sentences
from rag.answer.types import NOT_FOUND
from rag.answer.verify import verify_quote
from support.hits import HITS, make_hit


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_english_sentences_split_on_terminal_punctuation_not_decimals() -> None:
    assert _sentences("Ollama 0.5 added schemas. It works!  Does it?\nYes") == [
        "Ollama 0.5 added schemas.",
        "It works!",
        "Does it?",
        "Yes",
    ]


def test_chinese_sentences_split_on_full_width_marks() -> None:
    assert _sentences("嵌入接口返回向量。每个输入一个！真的吗？是的；结束") == [
        "嵌入接口返回向量。",
        "每个输入一个！",
        "真的吗？",
        "是的；",
        "结束",
    ]


def test_best_sentence_is_the_one_sharing_the_question_terms() -> None:
    picked = pick_sentences("How many vectors per input?", HITS)
    assert picked[0][1] == "One vector per input."
    assert picked[0][0].id == HITS[0].id


def test_answer_cites_only_retrieved_chunks_and_quotes_verify() -> None:
    answer = extractive_answer("What do chat replies stream as?", HITS)
    assert answer.mode == "extractive" and answer.answerable and answer.model is None
    assert answer.citations and {c.id for c in answer.citations} <= {h.id for h in HITS}
    for c in answer.citations:
        hit = next(h for h in HITS if h.id == c.id)
        assert c.verified and verify_quote(c.quote, hit.text)[0]
        assert f"[{c.n}]" in answer.answer
        assert hit.text[c.char_start - hit.char_start : c.char_end - hit.char_start] == c.quote


def test_chinese_question_picks_the_chinese_sentence() -> None:
    hits = [
        make_hit(
            "z" * 32, "Ollama 是一个本地运行模型的工具。嵌入接口返回向量列表，每个输入一个。聊天接口支持流式输出。"
        )
    ]
    answer = extractive_answer("嵌入接口返回什么？", hits)
    assert answer.citations[0].quote == "嵌入接口返回向量列表，每个输入一个。"


def test_no_overlap_means_not_found() -> None:
    answer = extractive_answer("zebra giraffe", HITS)
    assert answer.answer == NOT_FOUND and not answer.answerable and answer.citations == ()
    assert extractive_answer("anything", []).answer == NOT_FOUND


def test_extractive_to_dict_follows_the_documented_schema() -> None:
    import json

    import jsonschema

    from support.paths import REPO

    schema = json.loads((REPO / "docs" / "answer.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(extractive_answer("How many vectors per input?", HITS).to_dict(), schema)


def test_hard_wrapped_lines_and_list_items() -> None:
    text = "A wrapped line that\ncontinues here. Next one.\n\n- item one is here\n- item two"
    assert _sentences(text) == ["A wrapped line that\ncontinues here.", "Next one.", "item one is here", "item two"]


def test_headings_are_not_quoted() -> None:
    hit = make_hit("h" * 32, "Embedding vectors\n\nThe embed endpoint returns embedding vectors for each input.")
    hit = type(hit)(**{**hit.__dict__, "heading_path": ("Embedding vectors",)})
    assert [s for _, s, _ in pick_sentences("embedding vectors", [hit])] == [
        "The embed endpoint returns embedding vectors for each input."
    ]


def test_question_language_wins_over_a_better_ranked_translation() -> None:
    zh = make_hit("z" * 32, "如果提供了空提示并将 `keep_alive` 参数设置为 `0`，模型将从内存中卸载。", "docs/zh/api.md")
    en = make_hit(
        "y" * 32,
        "If the `keep_alive` parameter is set to `0`, a model will be unloaded from memory.",
        "docs/en/api.md",
        rank=2,
    )
    assert pick_sentences("What does keep_alive 0 do?", [zh, en])[0][0].id == en.id
    assert pick_sentences("keep_alive 设置为 0 会怎样？", [en, zh])[0][0].id == zh.id


def test_compound_identifier_matches_as_a_unit() -> None:
    other = make_hit("x" * 32, "如果需要使用其他目录，请将环境变量 `OLLAMA_MODELS` 设置为选定的目录。")
    right = make_hit("w" * 32, "通过 `OLLAMA_HOST` 环境变量更改绑定地址。", rank=2)
    assert pick_sentences("如何设置 OLLAMA_HOST 让其他机器访问？", [other, right])[0][0].id == right.id


def test_prose_is_preferred_to_a_code_block_with_the_same_terms() -> None:
    code = make_hit("v" * 32, '```json {"model": "llama3.2", "done_reason": "stop", "done": true} ```')
    prose = make_hit("u" * 32, "The done_reason field says why generation stopped: stop or length.", rank=2)
    assert pick_sentences("What does done_reason mean?", [code, prose])[0][0].id == prose.id
