"""Crash consistency: `rag index` killed with SIGKILL at 20 seeded random moments (and interrupted with SIGINT) over a
changing folder; after each kill a rerun to completion leaves every file once, Chroma == catalog == BM25, an intact
manifest, and exactly the chunk ids a clean run makes (the checks live in _killing.kill_sweep)."""

from __future__ import annotations

from pathlib import Path
from signal import SIGINT

import pytest

from support.consistency import assert_consistent_state, store_state
from support.killing import (
    FILES,
    expected_ids,
    index_cmd,
    kill_sweep,
    make_folder,
    requests_for_first_file,
    run,
    start,
)

KILLS = 20
SEED = 20240917


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_is_consistent(ollama, tmp_path: Path) -> None:
    ollama.latency = 0.02  # embedding takes long enough for kills to land mid-write (chunks and sentences)
    stats = kill_sweep(tmp_path, KILLS, SEED)
    print(f"\n{stats}")
    assert stats.kills == KILLS and stats.chunks_lost == stats.chunks_extra == 0
    assert stats.during_writes >= 3, "too few kills landed while files were being written"


@pytest.mark.slow
def test_sigint_mid_run_stops_with_a_summary(ollama, tmp_path: Path) -> None:
    docs, idx = tmp_path / "docs", tmp_path / "idx"
    make_folder(docs)
    # the requests that embed the first file (its chunks and their sentences) pass, then the run stalls: it cannot
    # finish before the signal
    ollama.hold("/api/embed", after=requests_for_first_file(docs))
    proc = start(index_cmd(docs, idx), tmp_path)
    first = proc.stderr.readline()  # "[1/41] added ..." once a file is stored
    assert first.startswith("[1/"), first
    proc.send_signal(SIGINT)
    ollama.release()  # the held request returns; the pending SIGINT stops the run at its next step
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert out.startswith("Partly indexed ") and "Stopped early: interrupted" in err
    state = store_state(idx)
    assert state["chroma_ids"] == state["catalog_ids"] and 0 < len(state["files"]) < FILES
    assert run(index_cmd(docs, idx), tmp_path).returncode == 0
    assert_consistent_state(store_state(idx))
    assert store_state(idx)["catalog_ids"] == expected_ids(docs)
