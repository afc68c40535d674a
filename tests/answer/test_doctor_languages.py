"""`rag doctor` warns when CJK documents were indexed with an English-only embedder (real index, fake Ollama)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from rag import RAG
from rag.cli import cli


def _languages_check(index: Path) -> dict | None:
    result = CliRunner().invoke(cli, ["doctor", "--json", "--index", str(index)])
    report = json.loads(result.output)
    return next((c for c in report["checks"] if c["name"] == "languages"), None)


def _index(tmp_path: Path, model: str, texts: dict[str, str]) -> Path:
    docs = tmp_path / f"docs-{model}"
    docs.mkdir()
    for name, text in texts.items():
        (docs / name).write_text(text, encoding="utf-8")
    with RAG(tmp_path / f"index-{model}", embed_backend="ollama", embed_model=model) as rag:
        rag.index(docs)
    return tmp_path / f"index-{model}"


def test_chinese_documents_under_an_english_only_embedder_are_a_warning(tmp_path: Path, ollama) -> None:
    texts = {
        "zh.md": "# 指南\n\n嵌入接口返回向量列表，每个输入一个向量。\n",
        "en.md": "# Guide\n\nThe embed endpoint returns vectors.\n",
    }
    check = _languages_check(_index(tmp_path, "all-minilm", texts))
    assert check is not None and check["level"] == "warning"
    assert "all-minilm" in check["detail"] and "ollama pull bge-m3" in check["fix"]
    assert _languages_check(_index(tmp_path, "bge-m3", texts)) is None


def test_english_documents_need_no_warning(tmp_path: Path, ollama) -> None:
    assert _languages_check(_index(tmp_path, "all-minilm", {"en.md": "# Guide\n\nPlain English text here.\n"})) is None
