"""The SIGKILL sweep shared by tests/test_crash_consistency.py and benchmarks/reliability.py: a changing folder,
`rag index` subprocesses killed at seeded random moments, and a rerun to completion checked after each kill."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ingest import ExtractParams, discover, extract
from ingest.sentences import sentence_texts
from support.adversarial import text_pdf, words
from support.consistency import assert_consistent_state, store_state
from support.paths import REPO

FILES = 40
PARAGRAPHS = 16  # ~8 chunks a file: a run writes several embedding groups, so kills land between commits


def make_folder(root: Path, version: int = 0) -> None:
    """FILES documents of a few chunks each (4 of them PDFs); `version` rewrites half of them, deletes one and adds
    one, so every run after the first has real work."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(FILES):
        if version and (i + version) % 2:
            continue
        body = "\n\n".join(words(i * 31 + version * 7 + p, 70) for p in range(PARAGRAPHS))
        if i % 10 == 9:
            text_pdf(root / f"doc{i:02d}.pdf", [body[:2000], body[2000:4000]])
        else:
            (root / f"doc{i:02d}.{'md' if i % 2 else 'txt'}").write_text(
                f"# Doc {i} v{version}\n\n{body}", encoding="utf-8"
            )
    if version:
        for old in root.glob(f"extra{version - 1}.md"):
            old.unlink()
        (root / f"extra{version}.md").write_text(words(1000 + version), encoding="utf-8")


def expected_ids(root: Path) -> set[str]:
    """The chunk ids a clean run makes, computed by the chunker in this process (default chunk settings)."""
    ids: set[str] = set()
    for src in discover(root):
        _, chunks = extract(src, ExtractParams(chunk_tokens=200, chunk_overlap=30))
        ids |= {c.id for c in chunks}
    return ids


def requests_for_first_file(root: Path, group: int = 64, batch: int = 32) -> int:
    """Embedding requests a run sends until the first file (in path order) is embedded: its chunks and their
    sentences go out in groups of `group` texts (batch x requests in flight), each group in batches of `batch`."""
    first = min(discover(root), key=lambda src: src.source)
    _, chunks = extract(first, ExtractParams(chunk_tokens=200, chunk_overlap=30))
    texts = sum(1 + len(sentence_texts(c.text)) for c in chunks)
    return -(-texts // group) * (group // batch)


def files_to_do(docs: Path, idx: Path) -> int:
    """Files whose content differs from what the catalog holds (what the next run has to embed)."""
    indexed = {s: r.sha256 for s, r in store_state(idx)["files"].items()}
    return sum(1 for src in discover(docs) if indexed.get(src.source) != src.sha256())


def index_cmd(docs: Path, idx: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rag", "index", str(docs), "--index", str(idx), "--embed-backend", "ollama", *extra]


def run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(check=False, args=cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=180)


def start(cmd: list[str], cwd: Path) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


@dataclass
class KillStats:
    kills: int = 0
    """Runs that were still going when SIGKILL hit them (each followed by a checked rerun)."""
    runs: int = 0
    during_writes: int = 0
    """Kills after which the rerun found committed files of the killed run, or orphan vectors to delete."""
    repaired: int = 0
    """Orphan vectors deleted + files re-embedded by the reruns."""
    run_seconds: float = 0.0
    """Duration of one uninterrupted incremental run (kill delays are drawn in [0.05, 0.9 x this])."""
    chunks_lost: int = 0
    """Chunk ids of a clean run missing from the final index."""
    chunks_extra: int = 0
    """Chunk ids in the final index that a clean run does not make."""


def kill_sweep(work: Path, kills: int, seed: int) -> KillStats:
    """Index a changing folder under `work`, SIGKILL `kills` runs at random moments (every third a --rebuild), rerun
    each to completion and assert the index is consistent and equal to a clean run (AssertionError otherwise).
    OLLAMA_HOST must point at a (fake) Ollama with some latency."""
    docs, idx = work / "docs", work / "idx"
    make_folder(docs)
    assert run(index_cmd(docs, idx), work).returncode == 0
    make_folder(docs, 1)
    started = time.monotonic()  # an incremental run like the ones killed below
    assert run(index_cmd(docs, idx), work).returncode == 0
    stats = KillStats(run_seconds=time.monotonic() - started)
    assert store_state(idx)["catalog_ids"] == expected_ids(docs)

    rng = random.Random(seed)
    while stats.kills < kills:
        stats.runs += 1
        assert stats.runs <= 2 * kills, "most runs ended before their kill: make the runs longer"
        make_folder(docs, stats.runs + 1)
        rebuild = stats.runs % 3 == 0  # catalog reset and collection dropped, then killed
        todo = len(list(discover(docs))) if rebuild else files_to_do(docs, idx)
        proc = start(index_cmd(docs, idx, "--json", *(["--rebuild"] if rebuild else [])), work)
        time.sleep(rng.uniform(0.05, stats.run_seconds * 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        killed = proc.returncode == -signal.SIGKILL  # else the run finished first: not a kill point
        stats.kills += killed
        rerun = run(index_cmd(docs, idx, "--json"), work)
        assert rerun.returncode == 0, (
            f"run {stats.runs} exited {rerun.returncode}: {rerun.stderr[-2000:]} {rerun.stdout[-2000:]}"
        )
        report = json.loads(rerun.stdout)
        stats.repaired += report["orphans_removed"] + report["files_repaired"]
        partial = 0 < report["added"] + report["updated"] < todo  # the killed run had committed some files
        stats.during_writes += killed and (partial or report["orphans_removed"] > 0)
        state = store_state(idx)
        assert_consistent_state(state)
        assert set(state["files"]) == {s.source for s in discover(docs)}, f"run {stats.runs}: files differ"
        assert state["catalog_ids"] == expected_ids(docs), f"run {stats.runs}: chunks differ from a clean run"

    clean = work / "clean"
    assert run(index_cmd(docs, clean), work).returncode == 0
    clean_ids, final_ids = store_state(clean)["catalog_ids"], store_state(idx)["catalog_ids"]
    stats.chunks_lost, stats.chunks_extra = len(clean_ids - final_ids), len(final_ids - clean_ids)
    return stats
