"""Faults from the model server (fake Ollama over real sockets, real Chroma): down at start, dying or stalling
mid-index,
transient 500/503, and every broken chat reply the fake can produce. The index stays consistent and resumable; the
CLI never shows a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import RAG
from rag.cli import cli
from rag.ollama import Client
from support.consistency import assert_consistent_state, store_state
from support.corpus import make_docs
from support.faults import FAULTS, STREAM_ONLY, kill_after, last_json
from support.hits import index_docs
from support.paths import REPO

SMALL = {"embed_backend": "ollama", "chunk_tokens": 60, "chunk_overlap": 10, "embed_batch": 4}


def _rag(index: Path, client: Client | None = None, **kw) -> RAG:
    rag = RAG(index, **(SMALL | kw))
    if client is not None:
        rag.client = client  # short backoff too (settings cover timeout and retries, not backoff)
    return rag


def _docs_and_clean_ids(tmp_path: Path, server, n: int) -> tuple[Path, set[str]]:
    """A folder of n files and the chunk ids of a clean index of it; the server's counters are reset after."""
    docs = make_docs(tmp_path / "docs", n=n)
    with _rag(tmp_path / "clean") as rag:
        assert rag.index(docs).error is None
    server.reset()
    return docs, store_state(tmp_path / "clean")["catalog_ids"]


def test_ollama_down_at_start_exits_2_with_the_fix(tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    env = os.environ | {"PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        check=False,
        args=[
            sys.executable,
            "-m",
            "rag",
            "index",
            str(docs),
            "--index",
            str(tmp_path / "idx"),
            "--embed-backend",
            "ollama",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("Error: Cannot reach Ollama at ") and "ollama serve" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_ollama_dying_mid_index_keeps_finished_files_and_the_rerun_equals_a_clean_run(ollama, tmp_path: Path) -> None:
    docs, clean = _docs_and_clean_ids(tmp_path, ollama, 30)
    ollama.latency = 0.02
    watcher = kill_after(ollama, "/api/embed", 12)
    idx = tmp_path / "idx"
    with _rag(idx, Client(ollama.url, retries=1, backoff=0.05)) as rag:
        report = rag.index(docs)
    watcher.join()
    assert report.interrupted and report.error and "Cannot reach Ollama" in report.error
    assert 0 < report.added < 30  # stopped cleanly after storing what was embedded
    state = store_state(idx)
    assert state["chroma_ids"] == state["catalog_ids"] and state["catalog_ids"] < clean
    assert len(state["files"]) == report.added

    ollama.restart()
    ollama.latency = 0.0
    with _rag(idx) as rag:
        rerun = rag.index(docs)
    assert rerun.error is None and rerun.added == 30 - report.added and rerun.unchanged == report.added
    final = store_state(idx)
    assert_consistent_state(final)
    assert final["catalog_ids"] == clean  # chunk id for chunk id


def test_ollama_restarting_within_the_retry_window_costs_nothing(ollama, tmp_path: Path) -> None:
    docs, clean = _docs_and_clean_ids(tmp_path, ollama, 12)
    ollama.latency = 0.02
    watcher = kill_after(ollama, "/api/embed", 4)

    def back_up() -> None:
        watcher.join()
        time.sleep(0.2)
        ollama.start()

    threading.Thread(target=back_up, daemon=True).start()
    with _rag(tmp_path / "idx", Client(ollama.url, retries=5, backoff=0.2)) as rag:
        report = rag.index(docs)
    assert report.error is None and report.added == 12, report.error
    assert store_state(tmp_path / "idx")["catalog_ids"] == clean


@pytest.mark.parametrize("status", [500, 503])
def test_transient_errors_are_retried_with_backoff(ollama, tmp_path: Path, status: int) -> None:
    docs = make_docs(tmp_path / "docs", n=4)
    ollama.fail_next(2, status, ["/api/embed"])
    with _rag(tmp_path / "idx", Client(ollama.url, retries=3, backoff=0.05)) as rag:
        report = rag.index(docs)
    assert report.error is None and report.added == 4
    assert_consistent_state(store_state(tmp_path / "idx"))
    assert ollama.count("/api/embed") >= 3  # the failed attempts were sent again


def test_persistent_500_stops_the_run_with_the_server_message(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=4)
    ollama.fail_next(50, 500, ["/api/embed"])
    with _rag(tmp_path / "idx", Client(ollama.url, retries=1, backoff=0.01)) as rag:
        report = rag.index(docs)
    assert report.interrupted and "injected failure 500" in (report.error or "")
    assert report.exit_code == 2 and report.added == 0


def test_read_timeout_mid_index_stops_cleanly_and_the_rerun_completes(ollama, tmp_path: Path) -> None:
    docs, clean = _docs_and_clean_ids(tmp_path, ollama, 10)
    idx = tmp_path / "idx"

    def stall() -> None:  # the server hangs once a few batches went through
        while ollama.count("/api/embed") < 3:
            time.sleep(0.005)
        ollama.latency = 1.0

    threading.Thread(target=stall, daemon=True).start()
    with _rag(idx, Client(ollama.url, timeout=0.3, retries=1, backoff=0.01)) as rag:
        report = rag.index(docs)
    assert report.interrupted and "did not answer within 0.3 s" in (report.error or "")
    state = store_state(idx)
    assert state["chroma_ids"] == state["catalog_ids"] <= clean
    ollama.latency = 0.0
    with _rag(idx) as rag:
        assert rag.index(docs).error is None
    final = store_state(idx)
    assert_consistent_state(final)
    assert final["catalog_ids"] == clean


# ---- chat faults: `rag ask` never shows a traceback ----------------------------------------------------------


@pytest.fixture
def asked_index(tmp_path: Path, ollama) -> str:
    path = index_docs(tmp_path, embed_backend="ollama")
    ollama.reset()
    return path


@pytest.mark.parametrize("stream", [False, True], ids=["ask", "ask--stream"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_chat_faults_give_an_answer_or_a_clean_error(asked_index: str, ollama, fault: str, stream: bool) -> None:
    FAULTS[fault](ollama)
    args = ["ask", "What does the embed endpoint return?", "--index", asked_index, "--json"]
    result = CliRunner().invoke(cli, args + (["--stream"] if stream else []))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), result.output
    data = last_json(result.stdout)
    if result.exit_code == 2:
        assert data["error"] and data["message"], data
    else:  # an answer came through (retried, or the extractive fallback): its citations are all retrieved chunks
        assert {c["id"] for c in data["citations"]} <= {h["id"] for h in data["hits"]}
    if fault == "busy_503_once":
        assert result.exit_code == 0 and data["mode"] == "generative"  # retried after the 503
    if fault in ("malformed_json", "ignores_format", "http_500") or (stream and fault in STREAM_ONLY):
        assert result.exit_code == 2, data  # (the stream faults only exist on streamed replies)
    if fault == "chat_model_missing":  # the documented fallback, with a warning saying so
        assert result.exit_code == 0 and data["mode"] == "extractive" and data["warnings"], data
