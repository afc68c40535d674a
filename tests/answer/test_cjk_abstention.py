"""Per-script abstention: with an English-only embedder a Chinese question is judged on lexical evidence (its cosine
means nothing); with a multilingual one the dense floor applies as before. Real index, fake Ollama (real sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import RAG
from rag.answer.evidence import (
    CJK_EVIDENCE_FLOOR,
    chunk_evidence,
    cjk_evidence,
    needs_lexical_floor,
    query_script,
)
from rag.embed.langs import dense_weight, is_multilingual, languages

DOCS = {
    "zh/faq.md": "# 常见问题\n\n## 如何停止模型\n\n使用 `ollama stop` 命令可以把模型从内存中卸载。\n\n"
    "## 模型存储位置\n\n模型默认保存在用户目录下的 models 文件夹中，可以通过 OLLAMA_MODELS 环境变量修改。\n",
    "zh/api.md": "# 接口\n\n嵌入接口返回向量列表，每个输入一个向量。\n\n"
    "```shell\ncurl http://localhost:11434/api/embed "
    '-d \'{"model": "all-minilm", "input": "你好"}\'\n```\n',
    "en/faq.md": "# FAQ\n\nModels are stored in the models folder. Use `ollama stop` to unload a model.\n",
}
OFF_TOPIC = "今天北京的天气怎么样？"


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    for rel, text in DOCS.items():
        path = tmp_path / "docs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "docs"


def test_off_topic_chinese_abstains_with_an_english_only_embedder(tmp_path: Path, docs: Path, ollama) -> None:
    # a floor every chunk passes on cosine, as all-minilm's 0.45-0.65 for any Chinese text passes 0.25
    with RAG(
        tmp_path / "index", embed_backend="ollama", embed_model="all-minilm", chat_model="none", min_score=0.001
    ) as rag:
        rag.index(docs)
        off = rag.ask(OFF_TOPIC)
        on = rag.ask("如何把模型从内存中卸载？")
        english = rag.ask("How do I unload a model?")
    assert off.mode == "abstained" and not off.answerable
    assert any("lexical evidence" in w and "bge-m3" in w for w in off.warnings)
    assert on.mode == "extractive" and on.answerable and "ollama stop" in on.answer
    assert english.mode == "extractive"  # English questions still use the dense floor


def test_a_multilingual_embedder_keeps_the_dense_floor(tmp_path: Path, docs: Path, ollama) -> None:
    with RAG(tmp_path / "index", embed_backend="ollama", embed_model="bge-m3", chat_model="none", min_score=0.0) as rag:
        rag.index(docs)
        answer = rag.ask(OFF_TOPIC)
    assert not any("lexical evidence" in w for w in answer.warnings)  # min_score 0: no floor at all


def test_min_score_zero_disables_the_lexical_floor_too(tmp_path: Path, docs: Path, ollama) -> None:
    with RAG(
        tmp_path / "index", embed_backend="ollama", embed_model="all-minilm", chat_model="none", min_score=0.0
    ) as rag:
        rag.index(docs)
        assert rag.ask(OFF_TOPIC).mode != "abstained"


def test_evidence_is_the_share_of_the_questions_terms_in_the_best_chunk() -> None:
    chunk = "使用 ollama stop 命令可以把模型从内存中卸载。"
    assert chunk_evidence("如何把模型从内存中卸载？", chunk) == 1.0  # question words cut: every bigram is there
    assert chunk_evidence("今天北京的天气怎么样？", chunk) == 0
    assert chunk_evidence("ollama stop 是什么？", chunk) == 1.0  # two Latin words, both in the chunk
    assert 0 < chunk_evidence("如何把模型从硬盘删除？", chunk) < 1  # 模型 and 把模 only
    # one everyday word (北京) of six content bigrams is not evidence
    assert 0 < cjk_evidence("今天北京的天气怎么样？", [chunk, "北京是首都。"]) < CJK_EVIDENCE_FLOOR
    assert query_script("今天北京的天气怎么样？") == "cjk" and query_script("What is OLLAMA_HOST?") == "latin"
    assert query_script("JAXR是什么？") == "cjk"
    assert needs_lexical_floor("模型在哪里？", False) and needs_lexical_floor("模型在哪里？", None)
    assert not needs_lexical_floor("模型在哪里？", True) and not needs_lexical_floor("Where?", False)


def test_embedding_model_table() -> None:
    assert languages("all-minilm:l6-v2") == languages("nomic-embed-text:latest") == "english"
    for model in (
        "bge-m3",
        "nomic-embed-text-v2-moe",
        "jeffh/intfloat-multilingual-e5-large:f16",
        "paraphrase-multilingual:278m-mpnet-base-v2-fp16",
    ):
        assert is_multilingual(model) is True, model
    assert is_multilingual("my-own-embedder") is None
    assert dense_weight("all-minilm", "cjk") == 0.0 and dense_weight("all-minilm", "latin") == 1.0
    assert dense_weight("bge-m3", "cjk") == 1.0 and dense_weight("unknown-model", "cjk") == 1.0
