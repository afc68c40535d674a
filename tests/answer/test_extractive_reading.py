"""Extractive answers that read well: abbreviations, lead-ins with their code or list, merged overlaps, the question's
language first, list-only chunks, code fences kept as code."""

from __future__ import annotations

from ingest.sentences import split_sentences
from rag.answer.extractive import extractive_answer, pick_sentences
from support.hits import make_hit


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_splitter_knows_abbreviations_initials_versions_and_full_width_marks() -> None:
    text = (
        "Use a small model, e.g. Llama 3.2 or Qwen. It needs 3.5 GB of RAM, i.e. not much. Pears, plums, etc. are "
        "fruit. We sell fruit etc. Then Dr. Smith met J. R. Tolkien. Version v1.2 is out."
    )
    assert _sentences(text) == [
        "Use a small model, e.g. Llama 3.2 or Qwen.",
        "It needs 3.5 GB of RAM, i.e. not much.",
        "Pears, plums, etc. are fruit.",
        "We sell fruit etc.",
        "Then Dr. Smith met J. R. Tolkien.",
        "Version v1.2 is out.",
    ]
    assert _sentences("他说：“你好。”然后走了。真的吗？") == ["他说：“你好。”", "然后走了。", "真的吗？"]


def test_a_code_fence_is_one_span_whatever_punctuation_it_holds() -> None:
    text = "Run it:\n\n```shell\nollama run llama3.2. Then? exit.\n```\n\nDone."
    assert _sentences(text) == ["Run it:", "```shell\nollama run llama3.2. Then? exit.\n```", "Done."]


def test_a_lead_in_ending_in_a_colon_brings_the_command_after_it() -> None:
    hit = make_hit(
        "a" * 32,
        "To unload a model from memory, use the `ollama stop` command:\n\n```shell\n"
        "ollama stop llama3.2\n```\n\nModels also unload after five minutes.",
    )
    answer = extractive_answer("How do I unload a model from memory?", [hit])
    quote = answer.citations[0].quote
    assert quote.startswith("To unload a model") and quote.endswith("```") and "ollama stop llama3.2" in quote
    assert hit.text[answer.citations[0].char_start : answer.citations[0].char_end] == quote
    assert "command: [1]\n\n```shell\nollama stop llama3.2\n```" in answer.answer  # rendered as code


def test_a_lead_in_brings_its_list_but_not_the_paragraph_after() -> None:
    hit = make_hit(
        "b" * 32,
        "Ollama stores models in these folders:\n- macOS: ~/.ollama/models\n"
        "- Linux: /usr/share/ollama/.ollama/models\n\nThe folder can be changed.",
    )
    (picked,) = [s for _, s, _ in pick_sentences("Where does Ollama store models?", [hit])][:1]
    assert picked.endswith("/usr/share/ollama/.ollama/models") and "changed" not in picked


def test_the_same_sentence_from_overlapping_chunks_is_quoted_once() -> None:
    doc = "Models are stored in the models folder. The folder is set with OLLAMA_MODELS. Pulls resume."
    first = make_hit("c" * 32, doc[:70], "docs/faq.md", char_start=0)
    second = make_hit("d" * 32, doc[40:], "docs/faq.md", rank=2, char_start=40)
    quotes = [c.quote for c in extractive_answer("Which variable sets the models folder?", [first, second]).citations]
    assert len(quotes) == len(set(quotes))
    assert sum("OLLAMA_MODELS" in q for q in quotes) == 1


def test_sentences_in_the_question_language_come_first() -> None:
    zh = make_hit("e" * 32, "模型默认保存在用户目录下的 models 文件夹中。可以修改保存位置。", "docs/zh/faq.md")
    en = make_hit("f" * 32, "Models are saved in the models folder of the user directory.", "docs/en/faq.md", rank=2)
    answer = extractive_answer("Where are models saved?", [zh, en])
    assert [c.source for c in answer.citations] == ["docs/en/faq.md"]
    assert all(c.source == "docs/zh/faq.md" for c in extractive_answer("模型保存在哪里？", [en, zh]).citations)


def test_a_chunk_of_heading_and_short_list_items_is_quoted_as_its_list() -> None:
    hit = make_hit(
        "g" * 32,
        "## 模型存储位置\n\n- macOS: `~/.ollama/models`\n- Linux: `/usr/share/ollama/.ollama/models`\n"
        "- Windows: `C:\\Users\\%username%\\.ollama\\models`",
    )
    hit = type(hit)(**{**hit.__dict__, "heading_path": ("模型存储位置",)})
    other = make_hit(
        "h" * 32, "你可以使用 curl 命令调用接口，例如 curl http://localhost:11434/api/tags 列出模型。", rank=2
    )
    answer = extractive_answer("模型存储位置在哪里？", [hit, other])
    assert answer.citations[0].id == hit.id
    assert "/usr/share/ollama/.ollama/models" in answer.citations[0].quote
