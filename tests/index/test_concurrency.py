"""Concurrency: writers on one index are serialised by the lock, readers during a write see a consistent index and
never crash, and several writers share a real Chroma server (each with its own catalog folder and collection)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import RAG
from rag.errors import StoreError
from rag.store.layout import layout
from rag.store.lock import WriterLock
from support.adversarial import words
from support.consistency import assert_consistent_state, store_state
from support.corpus import make_docs
from support.paths import REPO


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "rag", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def _wait_for_holder(lock: Path, pid: int) -> None:
    deadline = time.monotonic() + 60
    while WriterLock(lock).holder_pid() != pid and time.monotonic() < deadline:
        time.sleep(0.02)


def test_two_writers_of_different_folders_into_one_index_both_land(ollama, tmp_path: Path) -> None:
    a, b = make_docs(tmp_path / "alpha", n=6), make_docs(tmp_path / "beta", n=6)
    idx = tmp_path / "idx"
    ollama.latency = 0.1
    first = _start(["index", str(a), "--index", str(idx), "--embed-backend", "ollama", "--json"], tmp_path)
    _wait_for_holder(layout(idx, None, "default").lock, first.pid)
    second = _start(["index", str(b), "--index", str(idx), "--embed-backend", "ollama", "--json"], tmp_path)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == second.returncode == 0, err1 + err2
    assert f"waiting for another rag index (pid {first.pid})" in err2
    assert json.loads(out1)["added"] == json.loads(out2)["added"] == 6
    state = store_state(idx)
    assert_consistent_state(state)
    assert {s.split("/")[0] for s in state["files"]} == {"alpha", "beta"} and len(state["files"]) == 12
    assert set(state["manifest"].roots) == {str(a.resolve()), str(b.resolve())}


def _grow(docs: Path, n: int, version: int) -> None:
    docs.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (docs / f"note{i:02d}.md").write_text(
            f"# Note {i}\n\n" + "\n\n".join(words(i * 5 + version + p) for p in range(4)), encoding="utf-8"
        )


def test_readers_during_an_index_run_see_a_consistent_index(ollama, tmp_path: Path) -> None:
    docs, idx = tmp_path / "docs", tmp_path / "idx"
    _grow(docs, 30, 0)
    ollama.latency = 0.1
    asked = answered = 0  # answered: generative answers (the others found an empty index, before the 1st commit)
    for version in (0, 1):  # a first index (adds only), then a re-index that replaces every chunk
        if version:
            _grow(docs, 30, 1)
        writer = _start(["index", str(docs), "--index", str(idx), "--embed-backend", "ollama"], tmp_path)
        cli_ask = None
        while writer.poll() is None:
            try:
                with RAG(idx, embed_backend="ollama", min_score=0.0) as rag:
                    answer = rag.ask("Which note mentions the lantern and the harbor?", k=4)
            except StoreError as exc:  # only before the very first commit
                assert version == 0 and "No index" in str(exc), exc
                continue
            asked += 1
            hit_ids = {h.id for h in answer.hits}
            assert all(h.text.strip() and h.source.startswith("docs/note") for h in answer.hits)
            assert len(hit_ids) == len(answer.hits)
            assert {c.id for c in answer.citations} <= hit_ids
            assert answer.mode == "generative" or (answer.mode == "abstained" and not answer.hits), answer.mode
            answered += answer.mode == "generative"
            if cli_ask is None and version == 1:
                cli_ask = _start(["ask", "What is in note 3?", "--index", str(idx), "--json"], tmp_path)
        assert writer.wait() == 0, writer.stderr.read()
        if cli_ask is not None:
            out, err = cli_ask.communicate(timeout=120)
            assert cli_ask.returncode == 0 and "Traceback" not in err, err
            data = json.loads(out)
            assert {c["id"] for c in data["citations"]} <= {h["id"] for h in data["hits"]}
    assert answered >= 2, (asked, answered)
    assert_consistent_state(store_state(idx))


@pytest.mark.chroma_server
def test_several_writers_share_a_chroma_server(ollama, chroma_url: str, tmp_path: Path) -> None:
    ollama.latency = 0.05
    writers = []
    for i in range(3):  # three machines: each its own catalog folder and collection on the one server
        docs = make_docs(tmp_path / f"docs{i}", n=5)
        writers.append(
            _start(
                [
                    "index",
                    str(docs),
                    "--index",
                    str(tmp_path / f"idx{i}"),
                    "--chroma-url",
                    chroma_url,
                    "--collection",
                    f"writer{i}",
                    "--embed-backend",
                    "ollama",
                    "--json",
                ],
                tmp_path,
            )
        )
    shared = tmp_path / "shared"  # and two writers sharing one catalog folder: serialised by its lock
    for i in range(2):
        docs = make_docs(tmp_path / f"team{i}", n=4)
        writers.append(
            _start(
                [
                    "index",
                    str(docs),
                    "--index",
                    str(shared),
                    "--chroma-url",
                    chroma_url,
                    "--collection",
                    "team",
                    "--embed-backend",
                    "ollama",
                    "--json",
                ],
                tmp_path,
            )
        )
    results = [(w.returncode, *w.communicate(timeout=180)) for w in writers]
    results = [(w.returncode, out, err) for w, (_, out, err) in zip(writers, results, strict=False)]
    for code, out, err in results:  # noqa: B007
        assert code == 0, err
    assert [json.loads(out)["added"] for _, out, _ in results] == [5, 5, 5, 4, 4]
    for i in range(3):
        state = store_state(tmp_path / f"idx{i}", f"writer{i}", chroma_url)
        assert_consistent_state(state)
        assert len(state["files"]) == 5
    team = store_state(shared, "team", chroma_url)
    assert_consistent_state(team)
    assert len(team["files"]) == 8
