"""rag.retrieve.text: normalisation and the BM25 tokeniser (English words, Han bigrams, mixed text)."""

from __future__ import annotations

from rag.retrieve.text import compact, is_cjk, normalize, tokenize


def test_normalize_folds_width_case_and_whitespace() -> None:
    assert normalize("  Ｈｅｌｌｏ\n\tWORLD  ") == "hello world"
    assert normalize("Straße") == "strasse"  # casefold, not lower


def test_normalize_strip_punct_turns_punctuation_into_spaces() -> None:
    assert normalize("“Quoted”, (text)!", strip_punct=True) == "quoted text"
    assert normalize("嵌入，接口。", strip_punct=True) == "嵌入 接口"


def test_compact_ignores_spacing_between_han_characters_and_hyphenation() -> None:
    assert compact("嵌 入\n接口") == compact("嵌入接口") == "嵌入接口"
    assert compact("embed-\nding") == "embedding"


def test_english_words_are_lowercased_tokens() -> None:
    assert tokenize("The API returns Embeddings.") == ["the", "api", "returns", "embeddings"]


def test_stem_and_stopwords_are_optional() -> None:
    assert tokenize("the queries and documents", stem=True, stopwords=True) == ["query", "document"]
    assert tokenize("class status", stem=True) == ["class", "status"]  # -ss and -us kept


def test_han_runs_become_bigrams_and_single_characters_unigrams() -> None:
    assert tokenize("向量数据库") == ["向量", "量数", "数据", "据库"]
    assert tokenize("我 是") == ["我", "是"]


def test_mixed_text_is_tokenised_by_script() -> None:
    tokens = tokenize("Ollama的API返回embedding向量")
    assert tokens == ["ollama", "的", "api", "返回", "embedding", "向量"]


def test_japanese_kana_are_bigrams_too() -> None:
    assert tokenize("テキスト") == ["テキ", "キス", "スト"]


def test_is_cjk() -> None:
    assert is_cjk("abc 中") and not is_cjk("abc")
