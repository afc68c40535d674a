"""Reliability sweeps (results go to BENCHMARKS.md, "## Reliability"): bad input, injected faults, SIGKILLs.

1. Input: a generated hostile folder (tests/support/adversarial.make_adversarial: decompression bomb, 10,000 empty pages, a hung
   PDF, binary and invalid UTF-8 text, zero bytes, over-size, 60-deep nesting, symlink loop/escape, odd names) with
   a 4 s per-file limit, and copies of ../shared/eval/pdfs, each indexed by `RAG.index`; every file's outcome.
2. Faults (test Ollama server over real sockets, real Chroma): each scenario is "survived" when the run ends with a
   clean error or result, the index stays consistent, and a rerun ends equal to a clean run's chunk ids.
3. Kills: tests/support/killing.kill_sweep - `rag index` SIGKILLed at N seeded random moments, each followed by a checked
   rerun; chunks lost = clean-run chunk ids missing from the final index.

    python benchmarks/reliability.py [--kills 20] [--seed 20240917] [--skip-pdfs]
"""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from _common import EVAL_DIR

from rag import RAG
from rag.ollama import Client
from support.adversarial import make_adversarial
from support.consistency import assert_consistent_state, store_state
from support.corpus import make_docs
from support.faults import FAULTS, kill_after, last_json
from support.hits import write_docs
from support.killing import kill_sweep
from support.ollama_server import FakeOllama

SMALL = {"embed_backend": "ollama", "chunk_tokens": 60, "chunk_overlap": 10, "embed_batch": 4}


def _outcomes(report) -> list[tuple[str, str, str]]:
    return [(o.source, o.status, o.reason or f"{o.chunks} chunks") for o in report.files]


def sweep_input(work: Path, server: FakeOllama, pdfs: bool) -> None:
    print("### Input\n")
    runs = [("hostile", dict(max_file_bytes=2_000_000, file_timeout_s=4.0))]
    make_adversarial(work / "hostile", work / "outside")
    if pdfs and (EVAL_DIR / "pdfs").is_dir():
        (work / "pdfs").mkdir()
        for pdf in sorted((EVAL_DIR / "pdfs").glob("*.pdf")):
            shutil.copyfile(pdf, work / "pdfs" / pdf.name)
        runs.append(("pdfs", dict(pdf_password="asdfzxcv", chunk_tokens=400, chunk_overlap=40, file_timeout_s=120)))
    print("| folder | file | outcome | reason / chunks |\n|---|---|---|---|")
    totals: collections.Counter[str] = collections.Counter()
    for name, options in runs:
        started = time.monotonic()
        with RAG(work / f"idx-{name}", ollama_host=server.url, embed_backend="ollama", **options) as rag:
            report = rag.index(work / name)
        seconds = time.monotonic() - started
        for source, status, reason in _outcomes(report):
            shown = repr(source)[1:-1].replace("|", "\\|")  # a newline in a name shows as \n
            print(f"| {name} | `{shown}` | {status} | {reason} |")
            totals[status] += 1
        assert_consistent_state(store_state(work / f"idx-{name}"))
        totals["crashed"] += bool(report.error)
        print(f"| {name} | *whole run* | {seconds:.1f} s | error: {report.error} |")
    print(f"\nFiles tried: {sum(totals[s] for s in ('added', 'skipped', 'failed'))}; "
          f"indexed {totals['added']}, skipped with a reason {totals['skipped'] + totals['failed']}, "
          f"runs that crashed: {totals['crashed']}\n")


def _rag(index: Path, server: FakeOllama, client: Client | None = None) -> RAG:
    rag = RAG(index, ollama_host=server.url, **SMALL)
    if client is not None:
        rag.client = client
    return rag


def _index_scenario(work: Path, server: FakeOllama, inject: Callable[[], None], client: dict,
                    expect_error: bool) -> str:
    """Index with the fault injected, then rerun clean; what happened (AssertionError when not survived)."""
    docs = make_docs(work / "docs", n=20)
    with _rag(work / "clean", server) as rag:
        rag.index(docs)
    clean = store_state(work / "clean")["catalog_ids"]
    server.reset()
    inject()
    with _rag(work / "idx", server, Client(server.url, **client)) as rag:
        first = rag.index(docs)
    assert bool(first.error) == expect_error, f"error {first.error!r}"
    state = store_state(work / "idx")
    assert state["chroma_ids"] == state["catalog_ids"] <= clean, "inconsistent after the fault"
    if server._server is None:
        server.start()
    server.reset()
    with _rag(work / "idx", server) as rag:
        rag.index(docs)
    final = store_state(work / "idx")
    assert_consistent_state(final)
    assert final["catalog_ids"] == clean, "rerun differs from a clean run"
    kept = f"stopped after {first.added}/20 files ({first.error[:70]}...); " if first.error else "completed; "
    return kept + "index after the rerun equals a clean run's"


def _stall_after(server: FakeOllama, n: int) -> None:
    def stall() -> None:
        while server.count("/api/embed") < n:
            time.sleep(0.005)
        server.latency = 1.0

    threading.Thread(target=stall, daemon=True).start()


def _restart_after(server: FakeOllama, n: int) -> None:
    watcher = kill_after(server, "/api/embed", n)

    def back_up() -> None:
        watcher.join()
        time.sleep(0.2)
        server.start()

    threading.Thread(target=back_up, daemon=True).start()


def sweep_faults(work: Path, server: FakeOllama) -> None:
    print("### Faults\n\n| fault | outcome |\n|---|---|")
    quick = dict(retries=3, backoff=0.05)
    scenarios: list[tuple[str, Callable[[Path], str]]] = [
        ("Ollama down at start (`rag index`)", lambda w: _down_at_start(w)),
        ("Ollama dies after 12 embed requests; rerun after restart",
         lambda w: _index_scenario(w, server, lambda: (setattr(server, "latency", 0.02),
                                                       kill_after(server, "/api/embed", 12)),
                                   dict(retries=1, backoff=0.05), True)),
        ("Ollama down 0.2 s mid-index (inside the retry window)",
         lambda w: _index_scenario(w, server, lambda: (setattr(server, "latency", 0.02), _restart_after(server, 4)),
                                   dict(retries=5, backoff=0.2), False)),
        ("2 x HTTP 500 on /api/embed", lambda w: _index_scenario(
            w, server, lambda: server.fail_next(2, 500, ["/api/embed"]), quick, False)),
        ("2 x HTTP 503 on /api/embed", lambda w: _index_scenario(
            w, server, lambda: server.fail_next(2, 503, ["/api/embed"]), quick, False)),
        ("read timeout (server stalls mid-index); rerun", lambda w: _index_scenario(
            w, server, lambda: _stall_after(server, 3), dict(timeout=0.3, retries=1, backoff=0.01),
            True)),
    ]
    for fault in sorted(FAULTS):
        for stream in (False, True):
            scenarios.append((f"chat: {fault} (`rag ask{' --stream' if stream else ''}`)",
                              lambda w, f=fault, s=stream: _chat_scenario(w, server, f, s)))
    survived = 0
    for i, (name, scenario) in enumerate(scenarios):
        server.reset()
        try:
            outcome, ok = f"survived: {scenario(work / f'fault{i}')}", True
        except AssertionError as exc:
            outcome, ok = f"FAILED: {exc}", False
        survived += ok
        print(f"| {name} | {outcome.replace('|', '/')} |")
    print(f"\nFaults injected: {len(scenarios)}, survived: {survived}\n")


def _down_at_start(work: Path) -> str:
    work.mkdir(parents=True)
    docs = make_docs(work / "docs", n=2)
    env = os.environ | {"PYTHONPATH": str(REPO), "OLLAMA_HOST": "http://127.0.0.1:9"}
    proc = subprocess.run([sys.executable, "-m", "rag", "index", str(docs), "--index", str(work / "idx"),
                           "--embed-backend", "ollama"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2 and "Cannot reach Ollama" in proc.stderr and "Traceback" not in proc.stderr, (
        f"exit {proc.returncode}: {proc.stderr[-300:]}")
    return f"exit 2, `{proc.stderr.splitlines()[0][:90]}...`"


_CHAT_INDEX: dict[str, str] = {}


def _chat_scenario(work: Path, server: FakeOllama, fault: str, stream: bool) -> str:
    from click.testing import CliRunner

    from rag.cli import cli

    if "index" not in _CHAT_INDEX:
        write_docs(work / "docs")
        with RAG(work / "index", ollama_host=server.url, embed_backend="ollama") as rag:
            rag.index(work / "docs")
        _CHAT_INDEX["index"] = str(work / "index")
    server.reset()
    FAULTS[fault](server)
    args = ["ask", "What does the embed endpoint return?", "--index", _CHAT_INDEX["index"], "--json",
            "--ollama-host", server.url] + (["--stream"] if stream else [])
    result = CliRunner().invoke(cli, args)
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    assert not crashed and "Traceback" not in result.output, f"traceback: {result.exception!r}"
    data = last_json(result.stdout)
    if result.exit_code == 2:
        assert data.get("message"), "exit 2 without a message"
        return f"exit 2, {data['error']}: {data['message'][:70]}..."
    assert result.exit_code == 0, f"exit {result.exit_code}"
    assert {c["id"] for c in data["citations"]} <= {h["id"] for h in data["hits"]}, "citations outside the hits"
    return f"exit 0, {data['mode']} answer, {len(data['citations'])} citations"


def sweep_kills(work: Path, server: FakeOllama, kills: int, seed: int) -> None:
    print("### Kills\n")
    os.environ["OLLAMA_HOST"] = server.url
    server.reset()
    server.latency = 0.1
    started = time.monotonic()
    stats = kill_sweep(work, kills, seed)
    print(f"SIGKILL points survived: {stats.kills} of {stats.runs} runs ({stats.during_writes} landed while files "
          f"were being written; reruns deleted/repaired {stats.repaired} orphan vectors/files); incremental run "
          f"{stats.run_seconds:.1f} s; sweep {time.monotonic() - started:.0f} s. "
          f"Chunks lost: {stats.chunks_lost}; chunks extra: {stats.chunks_extra}.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20240917)
    parser.add_argument("--skip-pdfs", action="store_true", help="leave ../shared/eval/pdfs out of the input sweep")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOllama() as server:
        os.environ["RAG_HOME"] = str(Path(tmp) / "home")
        work = Path(tmp)
        sweep_input(work / "input", server, not args.skip_pdfs)
        sweep_faults(work / "faults", server)
        sweep_kills(work / "kills", server, args.kills, args.seed)


if __name__ == "__main__":
    main()
