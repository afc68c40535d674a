"""Crash consistency: `rag index` killed with SIGKILL at 20 seeded random moments (and interrupted with SIGINT) over a
changing folder; after each kill a rerun to completion leaves every file once, Chroma == catalog == BM25, an intact
manifest, and exactly the chunk ids a clean run makes."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _robust import _words, assert_consistent_state, store_state, text_pdf
from conftest import REPO

from ingest import ExtractParams, discover, extract

KILLS = 20
SEED = 20240917
FILES = 40
PARAGRAPHS = 16  # ~8 chunks a file: a run writes several embedding groups, so kills land between commits


def make_folder(root: Path, version: int = 0) -> None:
    """FILES documents of a few chunks each (4 of them PDFs); `version` rewrites half of them, deletes one and adds
    one, so every run after the first has real work."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        if version and (i + version) % 2:
            continue
        body = "\n\n".join(_words(i * 31 + version * 7 + p, 70) for p in range(PARAGRAPHS))
        if i % 10 == 9:
            text_pdf(root / f"doc{i:02d}.pdf", [body[:2000], body[2000:4000]])
        else:
            (root / f"doc{i:02d}.{'md' if i % 2 else 'txt'}").write_text(f"# Doc {i} v{version}\n\n{body}",
                                                                        encoding="utf-8")
    if version:
        for old in root.glob(f"extra{version - 1}.md"):
            old.unlink()
        (root / f"extra{version}.md").write_text(_words(1000 + version), encoding="utf-8")


def expected_ids(root: Path) -> set[str]:
    """The chunk ids a clean run makes, computed by the chunker in this process (default chunk settings)."""
    ids: set[str] = set()
    for src in discover(root):
        report, chunks = extract(src, ExtractParams(chunk_tokens=200, chunk_overlap=30))
        ids |= {c.id for c in chunks}
    return ids


def _todo(docs: Path, idx: Path) -> int:
    """Files whose content differs from what the catalog holds (what the next run has to embed)."""
    indexed = {s: r.sha256 for s, r in store_state(idx)["files"].items()}
    return sum(1 for src in discover(docs) if indexed.get(src.source) != src.sha256())


def _cmd(docs: Path, idx: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rag", "index", str(docs), "--index", str(idx), "--embed-backend", "ollama", *extra]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=180)


def _start(cmd: list[str], cwd: Path) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_is_consistent(ollama, tmp_path: Path) -> None:
    docs, idx = tmp_path / "docs", tmp_path / "idx"
    make_folder(docs)
    ollama.latency = 0.1  # embedding takes long enough for kills to land mid-write
    assert _run(_cmd(docs, idx), tmp_path).returncode == 0
    make_folder(docs, 1)
    started = time.monotonic()  # an incremental run like the ones killed below
    assert _run(_cmd(docs, idx), tmp_path).returncode == 0
    duration = time.monotonic() - started
    assert store_state(idx)["catalog_ids"] == expected_ids(docs)

    rng = random.Random(SEED)
    repaired = kills = version = mid_write = 0
    while kills < KILLS:
        version += 1
        assert version <= 2 * KILLS, "most runs ended before their kill: make the runs longer"
        make_folder(docs, version + 1)
        rebuild = version % 3 == 0  # every third killed run is a --rebuild (catalog reset, collection dropped)
        todo = len(list(discover(docs))) if rebuild else _todo(docs, idx)
        proc = _start(_cmd(docs, idx, "--json", *(["--rebuild"] if rebuild else [])), tmp_path)
        time.sleep(rng.uniform(0.05, duration * 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        kills += proc.returncode == -signal.SIGKILL  # else the run finished first: not a kill point
        rerun = _run(_cmd(docs, idx, "--json"), tmp_path)
        assert rerun.returncode == 0, f"kill {version}: {rerun.stderr[-2000:]}"
        report = json.loads(rerun.stdout)
        repaired += report["orphans_removed"] + report["files_repaired"]
        partial = 0 < report["added"] + report["updated"] < todo  # the killed run had committed some files
        mid_write += proc.returncode == -signal.SIGKILL and (partial or report["orphans_removed"] > 0)
        state = store_state(idx)
        assert_consistent_state(state)
        assert set(state["files"]) == {s.source for s in discover(docs)}, f"kill {version}"
        assert state["catalog_ids"] == expected_ids(docs), f"kill {version}: chunks differ from a clean run"

    clean = tmp_path / "clean"
    assert _run(_cmd(docs, clean), tmp_path).returncode == 0
    assert store_state(clean)["catalog_ids"] == store_state(idx)["catalog_ids"]
    print(f"\n{kills} kills survived in {version} runs ({mid_write} during the write phase); incremental run "
          f"{duration:.1f} s; orphan vectors + repaired files found by reruns: {repaired}")
    assert mid_write >= 3, "too few kills landed while files were being written"


@pytest.mark.slow
def test_sigint_mid_run_stops_with_a_summary(ollama, tmp_path: Path) -> None:
    docs, idx = tmp_path / "docs", tmp_path / "idx"
    make_folder(docs)
    ollama.latency = 0.3
    proc = _start(_cmd(docs, idx), tmp_path)
    first = proc.stderr.readline()  # "[1/41] added ..." once a file is stored
    assert first.startswith("[1/"), first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert out.startswith("Indexed ") and "Stopped early: interrupted" in err
    state = store_state(idx)
    assert state["chroma_ids"] == state["catalog_ids"] and 0 < len(state["files"]) < FILES
    ollama.latency = 0.0
    assert _run(_cmd(docs, idx), tmp_path).returncode == 0
    assert_consistent_state(store_state(idx))
    assert store_state(idx)["catalog_ids"] == expected_ids(docs)
