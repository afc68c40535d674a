"""`RAG` under threads: 8 threads x 25 questions on one fresh `RAG`, and on one `RAG` per thread, while another
thread indexes more files into the same collection. Zero errors of any kind, every answer for its own question.

The index is built by a `rag index` subprocess, so the `RAG` objects under test are the process's first: nothing
(Ollama client, query engine, Chroma client, BM25) is warmed up before the threads race to create it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from rag import RAG
from rag.answer.types import Answer
from support.answers import unmarked
from support.corpus import make_docs
from support.hits import write_docs

THREADS = 8
QUESTIONS = 25
ROOT = Path(__file__).resolve().parent.parent
ASKS = [
    "What does the embed endpoint return?",
    "How are models downloaded?",
    "What controls how long a model stays loaded?",
    "Which option sets the context window?",
    "How do chat replies stream?",
]


@pytest.fixture
def built(tmp_path: Path, ollama) -> Path:
    write_docs(tmp_path / "docs")
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "index",
            str(tmp_path / "docs"),
            "--index",
            str(tmp_path / "index"),
            "--embed-backend",
            "ollama",
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    make_docs(tmp_path / "more", n=12)
    return tmp_path


def _options() -> dict[str, Any]:
    return {"embed_backend": "ollama", "min_score": 0.0}


def _work(rag: RAG, worker: int) -> list[str]:
    """25 calls mixing ask, ask_stream, retrieve, chat and status; what each returned, checked."""
    seen = []
    for i in range(QUESTIONS):
        question = ASKS[(worker + i) % len(ASKS)]
        kind = i % 5
        if kind == 0:
            answer = rag.ask(question)
        elif kind == 1:
            items = list(rag.ask_stream(question))
            answer = items[-1]
            assert unmarked("".join(x for x in items[:-1] if isinstance(x, str))) == unmarked(answer.answer)
        elif kind == 2:
            hits = rag.retrieve(question, k=3)
            assert hits and [h.rank for h in hits] == list(range(1, len(hits) + 1))
            seen.append("retrieve")
            continue
        elif kind == 3:
            answer = rag.chat().ask(question)
        else:
            status = rag.status()
            assert any(c.name == "default" for c in status.collections)
            seen.append("status")
            continue
        assert isinstance(answer, Answer) and answer.question == question
        assert answer.answerable and answer.citations, answer
        seen.append("answer")
    return seen


def _race(make_rag, built: Path, indexer: RAG) -> None:
    errors: list[BaseException] = []
    results: dict[int, list[str]] = {}
    start = threading.Barrier(THREADS + 1)
    report: list[Any] = []

    def asker(n: int) -> None:
        try:
            rag = make_rag()
            start.wait(60)
            results[n] = _work(rag, n)
        except BaseException as exc:
            errors.append(exc)
            start.abort()

    def index() -> None:
        try:
            start.wait(60)
            report.append(indexer.index(built / "more"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=asker, args=(n,)) for n in range(THREADS)] + [threading.Thread(target=index)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads), "a thread is stuck"
    assert errors == [], [f"{type(e).__name__}: {e}" for e in errors]
    assert sorted(results) == list(range(THREADS))
    assert all(len(r) == QUESTIONS for r in results.values())
    assert report and report[0].error is None and report[0].indexed == 12


def test_one_shared_rag_across_threads_while_indexing(built: Path) -> None:
    with RAG(built / "index", **_options()) as rag:
        _race(lambda: rag, built, rag)
        assert rag.status().collections[0].files == 5 + 12


def test_one_rag_per_thread_while_indexing(built: Path) -> None:
    made: list[RAG] = []
    lock = threading.Lock()

    def make() -> RAG:
        rag = RAG(built / "index", **_options())
        with lock:
            made.append(rag)
        return rag

    with RAG(built / "index", **_options()) as indexer:
        _race(make, built, indexer)
    for rag in made:
        rag.close()
