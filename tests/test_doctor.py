"""`rag doctor` against the fake Ollama (up, down, model missing), a real embedded Chroma index and the real built-in
embedder. Exit codes: 0 ready (warnings allowed), 1 warnings with --strict, 2 something needed is broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import RAG
from rag.cli import cli
from support.paths import free_port


def _doctor(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["doctor", "--json", *args])
    return result.exit_code, json.loads(result.output)


def _by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "llamas.md").write_text("# Llamas\n\nLlamas are domesticated camelids from South America.\n")
    (folder / "tea.md").write_text("# Tea\n\nGreen tea is steamed or pan-fired soon after picking.\n")
    return folder


def test_ollama_up_with_models_and_consistent_index_is_all_ok(ollama, docs: Path) -> None:
    with RAG() as rag:
        rag.index(docs)
    code, report = _doctor()
    checks = _by_name(report)
    assert code == 0, report
    assert report["ok"] and report["errors"] == 0 and report["warnings"] == 0
    assert all(c["ok"] and c["fix"] is None for c in report["checks"])
    assert "0.6.8" in checks["ollama"]["detail"]  # the fake's /api/version
    assert "context 131072 tokens" in checks["chat model"]["detail"]  # from /api/show
    assert "completion" in checks["chat model"]["detail"]
    assert "embedding" in checks["embed model"]["detail"]
    assert "2 files" in checks["index"]["detail"] and "all-minilm" in checks["index"]["detail"]
    assert ollama.count("/api/version") >= 1 and ollama.count("/api/tags") >= 1 and ollama.count("/api/show") >= 2


def test_ollama_down_is_a_working_offline_setup_with_warnings() -> None:
    code, report = _doctor()
    checks = _by_name(report)
    assert code == 0, report
    assert report["ok"] and report["errors"] == 0
    assert checks["ollama"]["level"] == "warning" and "ollama serve" in checks["ollama"]["fix"]
    assert checks["embed model"]["ok"] and "built-in" in checks["embed model"]["detail"]
    assert checks["chat model"]["level"] == "warning" and "extractive" in checks["chat model"]["detail"]
    assert checks["built-in embedder"]["ok"] and "384 dims" in checks["built-in embedder"]["detail"]
    assert checks["index"]["level"] == "warning" and "rag index" in checks["index"]["fix"]


def test_strict_turns_warnings_into_exit_1() -> None:
    code, report = _doctor("--strict")
    assert code == 1 and report["warnings"] > 0 and report["errors"] == 0


def test_missing_chat_model_is_a_warning_with_the_pull_command(ollama, docs: Path) -> None:
    with RAG() as rag:
        rag.index(docs)
    ollama.missing_models = {"llama3.2"}
    code, report = _doctor()
    chat = _by_name(report)["chat model"]
    assert code == 0
    assert chat["level"] == "warning"
    assert "ollama pull llama3.2" in chat["fix"] and "rag pull llama3.2" in chat["fix"]


def test_missing_embed_model_on_ollama_falls_back_to_builtin_with_a_hint(ollama) -> None:
    ollama.missing_models = {"all-minilm"}
    code, report = _doctor()
    embed = _by_name(report)["embed model"]
    assert code == 0
    assert embed["level"] == "warning" and "built-in" in embed["detail"]
    assert "ollama pull all-minilm" in embed["fix"]


def test_embed_model_no_backend_serves_is_an_error() -> None:
    code, report = _doctor("--embed-model", "nomic-embed-text")  # Ollama down; not built in
    embed = _by_name(report)["embed model"]
    assert code == 2 and not report["ok"]
    assert embed["level"] == "error" and "ollama serve" in embed["fix"]


def test_index_model_unavailable_anywhere_is_an_error(ollama, docs: Path) -> None:
    with RAG(embed_model="nomic-embed-text") as rag:
        rag.index(docs)
    ollama.missing_models = {"nomic-embed-text"}
    code, report = _doctor()  # default embed model: the index's own model is the one needed
    embed = _by_name(report)["embed model"]
    assert code == 2
    assert "nomic-embed-text" in embed["detail"] and "used by the index" in embed["detail"]
    assert "ollama pull nomic-embed-text" in embed["fix"]


def test_explicit_embed_model_that_disagrees_with_the_index_is_an_error(ollama, docs: Path) -> None:
    with RAG() as rag:
        rag.index(docs)
    code, report = _doctor("--embed-model", "nomic-embed-text")
    index = _by_name(report)["index"]
    assert code == 2
    assert index["level"] == "error" and "--rebuild" in index["fix"] and "--embed-model all-minilm" in index["fix"]


def test_chat_model_without_completion_capability_is_an_error(ollama) -> None:
    code, report = _doctor("--chat-model", "all-minilm")
    chat = _by_name(report)["chat model"]
    assert code == 2 and chat["level"] == "error" and "cannot generate" in chat["detail"]


def test_chat_model_none_and_missing_gguf(tmp_path: Path) -> None:
    code, report = _doctor("--chat-model", "none")
    assert _by_name(report)["chat model"]["ok"] and "extractive" in _by_name(report)["chat model"]["detail"]
    code, report = _doctor("--chat-model", f"gguf:{tmp_path / 'absent.gguf'}")
    chat = _by_name(report)["chat model"]
    assert code == 2 and chat["level"] == "error" and "absent.gguf" in chat["fix"] + chat["detail"]


def test_chroma_server_that_does_not_answer_is_an_error() -> None:
    code, report = _doctor("--chroma-url", f"http://127.0.0.1:{free_port()}")
    chroma = _by_name(report)["chroma"]
    assert code == 2 and chroma["level"] == "error" and "chroma run" in chroma["fix"]


def test_text_output_marks_each_check_and_prints_fixes(ollama) -> None:
    ollama.missing_models = {"llama3.2"}
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.startswith("WARN") and "chat model" in line for line in lines)
    assert any("fix: Run `ollama pull llama3.2`" in line for line in lines)
    assert lines[-1].startswith("Ready, with")


def test_library_report_matches_cli_exit_codes(ollama) -> None:
    with RAG(chat_model="all-minilm") as rag:
        report = rag.doctor()
    assert not report.ok and report.exit_code() == 2 and report.exit_code(strict=True) == 2
    assert report.to_dict()["checks"][0]["name"] == "ollama"


def test_the_built_in_embedder_form_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    code, report = _doctor()
    assert code == 0 and "int8 arithmetic" in _by_name(report)["built-in embedder"]["detail"]
    monkeypatch.setenv("RAG_BUILTIN_INT8", "false")
    code, report = _doctor()
    assert (
        code == 0
        and "float32 arithmetic, as builtin_int8 = false asks" in _by_name(report)["built-in embedder"]["detail"]
    )


def test_an_index_without_sentence_vectors_gets_a_warning_with_the_rebuild(ollama, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "camelids.md").write_text("Llamas are camelids. Alpacas are smaller. Both come from South America.\n")
    with RAG(sentence_vectors=False) as rag:
        rag.index(folder)
    _, report = _doctor()
    check = _by_name(report)["sentence vectors"]
    assert check["level"] == "warning" and "--rebuild" in check["fix"]
    with RAG() as rag:
        rag.index(folder, rebuild=True)
    _, report = _doctor()
    assert "sentence vectors" not in _by_name(report)
