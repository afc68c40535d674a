"""Reliability sweeps (results go to BENCHMARKS.md, "## Reliability"): bad input, injected faults, SIGKILLs.

1. Input: a generated hostile folder (tests/support/adversarial.make_adversarial: decompression bomb, 10,000 empty
pages, a hung
   PDF, binary and invalid UTF-8 text, zero bytes, over-size, 60-deep nesting, symlink loop/escape, odd names) with
   a 4 s per-file limit, and copies of ../shared/eval/pdfs, each indexed by `RAG.index`; every file's outcome.
2. Faults (test Ollama server over real sockets, real Chroma): each scenario is "survived" when the run ends with a
   clean error or result, the index stays consistent, and a rerun ends equal to a clean run's chunk ids.
3. Kills: tests/support/killing.kill_sweep - `rag index` SIGKILLed at N seeded random moments, each followed by a
checked
   rerun; chunks lost = clean-run chunk ids missing from the final index.
4. Hostile server and disk: `rag ask` / `ask --stream` / `rag index` / `rag status` in a subprocess
   against a fake Ollama that trickles a byte every 0.5 s (body, or head and body), streams forever, sends 10 MB
   or NaN/inf vectors; an index folder the user cannot write (run as nobody), a full disk (8 MB tmpfs), a
   collection name that climbs out of the folder. Each case: exit code and message, the wall time it held the run
   against its documented deadline (`--timeout 5`: 5 s per model call, tags/show min(10, 5) s), chunks lost.

    python benchmarks/reliability.py [--kills 20] [--seed 20240917] [--skip-pdfs] [--only input,faults,kills,hostile]
"""

from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import json
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
    print(
        f"\nFiles tried: {sum(totals[s] for s in ('added', 'skipped', 'failed'))}; "
        f"indexed {totals['added']}, skipped with a reason {totals['skipped'] + totals['failed']}, "
        f"runs that crashed: {totals['crashed']}\n"
    )


def _rag(index: Path, server: FakeOllama, client: Client | None = None) -> RAG:
    rag = RAG(index, ollama_host=server.url, **SMALL)
    if client is not None:
        rag.client = client
    return rag


def _index_scenario(
    work: Path, server: FakeOllama, inject: Callable[[], None], client: dict, expect_error: bool
) -> str:
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
        ("Ollama down at start (`rag index`)", lambda w: _down_at_start(w)),  # noqa: PLW0108
        (
            "Ollama dies after 12 embed requests; rerun after restart",
            lambda w: _index_scenario(
                w,
                server,
                lambda: (setattr(server, "latency", 0.02), kill_after(server, "/api/embed", 12)),
                dict(retries=1, backoff=0.05),
                True,
            ),
        ),
        (
            "Ollama down 0.2 s mid-index (inside the retry window)",
            lambda w: _index_scenario(
                w,
                server,
                lambda: (setattr(server, "latency", 0.02), _restart_after(server, 4)),
                dict(retries=5, backoff=0.2),
                False,
            ),
        ),
        (
            "2 x HTTP 500 on /api/embed",
            lambda w: _index_scenario(w, server, lambda: server.fail_next(2, 500, ["/api/embed"]), quick, False),
        ),
        (
            "2 x HTTP 503 on /api/embed",
            lambda w: _index_scenario(w, server, lambda: server.fail_next(2, 503, ["/api/embed"]), quick, False),
        ),
        (
            "read timeout (server stalls mid-index); rerun",
            lambda w: _index_scenario(
                w, server, lambda: _stall_after(server, 3), dict(timeout=0.3, retries=1, backoff=0.01), True
            ),
        ),
    ]
    for fault in sorted(FAULTS):
        for stream in (False, True):
            scenarios.append(
                (
                    f"chat: {fault} (`rag ask{' --stream' if stream else ''}`)",
                    lambda w, f=fault, s=stream: _chat_scenario(w, server, f, s),
                )
            )
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
    proc = subprocess.run(
        check=False,
        args=[
            sys.executable,
            "-m",
            "rag",
            "index",
            str(docs),
            "--index",
            str(work / "idx"),
            "--embed-backend",
            "ollama",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "Cannot reach Ollama" in proc.stderr and "Traceback" not in proc.stderr, (
        f"exit {proc.returncode}: {proc.stderr[-300:]}"
    )
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
    args = [
        "ask",
        "What does the embed endpoint return?",
        "--index",
        _CHAT_INDEX["index"],
        "--json",
        "--ollama-host",
        server.url,
    ] + (["--stream"] if stream else [])
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


DEADLINE_S = 5.0  # --timeout of the hostile cases
TRICKLE_S = 0.5  # seconds between bytes of a trickled reply
QUESTION = "What does the embed endpoint return?"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _cli(
    args: list[str], server: FakeOllama, user: list[str] | None = None
) -> tuple[subprocess.CompletedProcess, float]:
    env = os.environ | {"PYTHONPATH": str(REPO), "OLLAMA_HOST": server.url, "ANONYMIZED_TELEMETRY": "False"}
    started = time.monotonic()
    proc = subprocess.run(
        [*(user or []), sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd="/",
        check=False,
    )
    return proc, time.monotonic() - started


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else "")[:110].replace("|", "/")


_Check = Callable[[subprocess.CompletedProcess], str]


def _hostile_cases(index: str, docs: str) -> list[tuple[str, list[str], dict, float, _Check]]:
    """(name, rag args, fake-server knobs, documented deadline in s, check -> outcome)."""
    ask = ["ask", QUESTION, "--index", index, "--timeout", str(DEADLINE_S)]
    run_index = ["index", docs, "--index", index, "--timeout", str(DEADLINE_S), "--embed-backend", "ollama"]

    def answered(extractive: bool) -> Callable[[subprocess.CompletedProcess], str]:
        def check(proc: subprocess.CompletedProcess) -> str:
            assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-200:]}"
            assert "Traceback" not in proc.stderr
            if extractive:
                assert "(extractive" in proc.stdout and "did not answer within" in proc.stderr, proc.stderr[-200:]
            return f"exit 0, {'extractive' if extractive else 'generated'} answer; {_first_line(proc.stderr)}"

        return check

    def failed(words: str) -> Callable[[subprocess.CompletedProcess], str]:
        def check(proc: subprocess.CompletedProcess) -> str:
            out = proc.stdout + proc.stderr
            assert proc.returncode == 2 and words in out and "Traceback" not in out, (
                f"exit {proc.returncode}: {out[-300:]}"
            )
            assert len(proc.stdout) < 100_000, f"{len(proc.stdout)} bytes printed"
            return f"exit 2, `{_first_line(proc.stderr or proc.stdout)}`"

        return check

    def valid_json(proc: subprocess.CompletedProcess) -> str:
        def refuse(token: str) -> None:
            raise AssertionError(f"bare {token} in --json")

        assert proc.returncode == 0, proc.stderr[-300:]
        data = json.loads(proc.stdout, parse_constant=refuse)
        assert all(h["dense_score"] is None for h in data["hits"]), "dense hits from a bad vector"
        return f"exit 0, valid JSON, {data['mode']} answer from BM25 only; warning: {data['warnings'][0][:60]}..."

    chat, embed, tags = {"/api/chat": TRICKLE_S}, {"/api/embed": TRICKLE_S}, {"/api/tags": TRICKLE_S}
    return [
        ("chat body trickled (`rag ask`)", ask, {"trickle": chat}, DEADLINE_S, answered(True)),
        (
            "chat head+body trickled (`rag ask`)",
            ask,
            {"trickle": chat, "trickle_head": True},
            DEADLINE_S,
            answered(True),
        ),
        ("chat trickled (`rag ask --stream`)", [*ask, "--stream"], {"trickle": chat}, DEADLINE_S, answered(True)),
        (
            "chat stream never ends (`rag ask --stream`)",
            [*ask, "--stream"],
            {"endless_stream": True},
            DEADLINE_S,
            answered(True),
        ),
        ("query embed trickled (`rag ask`)", ask, {"trickle": embed}, DEADLINE_S, answered(False)),
        ("tags trickled (`rag ask`)", ask, {"trickle": tags, "trickle_head": True}, DEADLINE_S, answered(False)),
        ("10 MB chat reply (`rag ask`)", ask, {"oversize_bytes": 10_000_000}, DEADLINE_S, failed("more than")),
        (
            "10 MB chat stream (`rag ask --stream`)",
            [*ask, "--stream"],
            {"oversize_bytes": 10_000_000},
            DEADLINE_S,
            failed("more than"),
        ),
        ("NaN query vector (`rag ask --json`)", [*ask, "--json"], {"bad_vectors": "nan"}, DEADLINE_S, valid_json),
        ("inf query vector (`rag ask --json`)", [*ask, "--json"], {"bad_vectors": "inf"}, DEADLINE_S, valid_json),
        ("embed trickled (`rag index`)", run_index, {"trickle": embed}, DEADLINE_S, failed("did not answer within")),
        (
            "tags trickled (`rag index`)",
            run_index,
            {"trickle": tags, "trickle_head": True},
            DEADLINE_S,
            failed("did not answer within"),
        ),
        (
            "NaN document vectors (`rag index`)",
            run_index,
            {"bad_vectors": "nan"},
            DEADLINE_S,
            failed("unusable vector"),
        ),
    ]


def sweep_hostile(work: Path, server: FakeOllama) -> None:
    from support.consistency import store_state as state

    print(
        "### Hostile server and disk\n\n| case | outcome | held the run | same command, no fault | deadline | "
        "chunks lost |\n|---|---|---|---|---|---|"
    )
    work.mkdir(parents=True)
    write_docs(work / "docs")
    with RAG(work / "index", ollama_host=server.url, embed_backend="ollama") as rag:
        rag.index(work / "docs")
    clean = state(work / "index")["catalog_ids"]
    rows: list[tuple[str, bool, float, float, float, int]] = []
    baselines: dict[tuple[str, ...], float] = {}
    fresh = iter(range(10_000))

    def invoke(args: list[str], user: list[str] | None = None) -> tuple[subprocess.CompletedProcess, float]:
        if args[0] == "index":  # always something new to embed, so the embed calls happen
            (work / "docs" / f"new{next(fresh)}.md").write_text(
                "# New\n\nAlpacas are smaller than llamas and have shorter ears.\n"
            )
        return _cli(args, server, user)

    def baseline(args: list[str], user: list[str] | None = None) -> float:
        key = (*args, *(user or []))
        if key not in baselines:
            server.reset()
            baselines[key] = invoke(args, user)[1]
        return baselines[key]

    def record(name: str, run: Callable[[], tuple[str, float]], normal: float, deadline: float, index: Path) -> None:
        try:
            outcome, held = run()
            ok = True
        except AssertionError as exc:
            outcome, held, ok = f"FAILED: {exc}", float("nan"), False
        lost = len(clean - state(index)["catalog_ids"]) if (index / "default.catalog.sqlite").exists() else 0
        rows.append((name, ok, held, normal, deadline, lost))
        print(f"| {name} | {outcome} | {held:.1f} s | {normal:.1f} s | {deadline:g} s | {lost} |", flush=True)

    for name, args, knobs, deadline, check in _hostile_cases(str(work / "index"), str(work / "docs")):

        def run(args: list[str] = args, knobs: dict = knobs, check=check) -> tuple[str, float]:
            server.reset()
            for knob, value in knobs.items():
                setattr(server, knob, value)
            proc, held = invoke(args)
            server.reset()
            return check(proc), held

        record(name, run, baseline(args), deadline, work / "index")
    for name, run, index, args, user in _disk_cases(work, server):
        record(name, run, baseline(args, user) if args else 0.0, 0.0, index)
    survived = sum(r[1] for r in rows)
    over = max((r for r in rows if r[4]), key=lambda r: r[2] - r[3] - r[4])  # the cases with a deadline
    print(
        f"\nHostile cases: {len(rows)}, survived: {survived}; longest any case held a run: "
        f"{max(r[2] for r in rows):.1f} s; most over (its no-fault time + deadline): "
        f"{over[2] - over[3] - over[4]:+.1f} s ({over[0]}); chunks lost: {sum(r[5] for r in rows)}\n"
    )


_DiskCase = tuple[str, Callable[[], tuple[str, float]], Path, list[str] | None, list[str] | None]


def _disk_cases(work: Path, server: FakeOllama) -> list[_DiskCase]:
    """Read-only folder (as nobody), full disk (tmpfs), a collection name outside the folder: skipped when the machine
    cannot (not root, no setpriv, no mount)."""
    cases: list[_DiskCase] = []
    index, docs = work / "index", work / "docs"
    root = os.geteuid() == 0
    if root and shutil.which("setpriv"):
        shared = Path(tempfile.mkdtemp(prefix="rag-ro-"))
        atexit.register(shutil.rmtree, shared, ignore_errors=True)
        shutil.copytree(index, shared / "index")
        shutil.copytree(docs, shared / "docs")
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

        def read_only(args: list[str], words: str, code: int) -> Callable[[], tuple[str, float]]:
            def run() -> tuple[str, float]:
                proc, held = _cli(args, server, user=AS_NOBODY)
                out = proc.stdout + proc.stderr
                assert proc.returncode == code and words in out and "Traceback" not in out, out[-300:]
                return f"exit {code}, `{_first_line(proc.stderr if code else proc.stdout)}`", held

            return run

        ro = str(shared / "index")
        status, ask = ["status", "--index", ro], ["ask", QUESTION, "--index", ro]
        write = ["index", str(shared / "docs"), "--index", ro]
        cases += [
            (
                "read-only folder, not ours (`rag status`)",
                read_only(status, "Collection", 0),
                shared / "index",
                ["status", "--index", str(index)],
                None,
            ),
            (
                "read-only folder, not ours (`rag ask`)",
                read_only(ask, "Sources", 0),
                shared / "index",
                ["ask", QUESTION, "--index", str(index)],
                None,
            ),
            (
                "read-only folder, not ours (`rag index`)",
                read_only(write, "read-only", 2),
                shared / "index",
                None,
                None,
            ),
        ]
    tiny = work / "tiny"
    tiny.mkdir()
    if (
        root
        and not subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(tiny)], capture_output=True, check=False
        ).returncode
    ):
        shutil.copytree(index, tiny / "index")
        more = work / "more"
        shutil.copytree(docs, more)
        for i in range(40):
            (more / f"extra{i}.md").write_text(f"# Extra {i}\n\n" + "Llamas graze on the hills every morning. " * 400)

        def full() -> tuple[str, float]:
            with open(tiny / "filler", "wb") as out, contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            proc, held = _cli(["index", str(more), "--index", str(tiny / "index")], server)
            (tiny / "filler").unlink()
            assert proc.returncode == 2 and "full" in proc.stderr, proc.stderr[-300:]
            assert "Traceback" not in proc.stderr, proc.stderr[-300:]
            return f"exit 2, `{_first_line(proc.stderr)}`", held

        cases.append(("disk full (`rag index`, 8 MB tmpfs)", full, tiny / "index", None, None))

    def bad_name() -> tuple[str, float]:
        before = set(work.rglob("*"))
        proc, held = _cli(["index", str(docs), "--index", str(work / "idx-x"), "--collection", "../../x"], server)
        assert proc.returncode == 2 and set(work.rglob("*")) == before, f"exit {proc.returncode}; files written"
        return f"exit 2, nothing written, `{_first_line(proc.stderr)}`", held

    cases.append(("`--collection ../../x` (`rag index`)", bad_name, index, None, None))
    return cases


def sweep_kills(work: Path, server: FakeOllama, kills: int, seed: int) -> None:
    print("### Kills\n")
    os.environ["OLLAMA_HOST"] = server.url
    server.reset()
    server.latency = 0.1
    started = time.monotonic()
    stats = kill_sweep(work, kills, seed)
    print(
        f"SIGKILL points survived: {stats.kills} of {stats.runs} runs ({stats.during_writes} landed while files "
        f"were being written; reruns deleted/repaired {stats.repaired} orphan vectors/files); incremental run "
        f"{stats.run_seconds:.1f} s; sweep {time.monotonic() - started:.0f} s. "
        f"Chunks lost: {stats.chunks_lost}; chunks extra: {stats.chunks_extra}.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20240917)
    parser.add_argument("--skip-pdfs", action="store_true", help="leave ../shared/eval/pdfs out of the input sweep")
    parser.add_argument("--only", default="input,faults,kills,hostile", help="comma-separated sweeps to run")
    args = parser.parse_args()
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp, FakeOllama() as server:
        os.environ["RAG_HOME"] = str(Path(tmp) / "home")
        work = Path(tmp)
        if "input" in only:
            sweep_input(work / "input", server, not args.skip_pdfs)
        if "faults" in only:
            sweep_faults(work / "faults", server)
        if "kills" in only:
            sweep_kills(work / "kills", server, args.kills, args.seed)
        if "hostile" in only:
            try:
                sweep_hostile(work / "hostile", server)
            finally:
                subprocess.run(["umount", "-l", str(work / "hostile" / "tiny")], capture_output=True, check=False)


if __name__ == "__main__":
    main()
