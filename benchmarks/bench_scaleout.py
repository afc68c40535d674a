"""Many machines: one `chroma run` server, 2 writer processes with their own index folders, 4 reader processes
with empty index folders asking while the writers index and one of them rebuilds.

    nice -n 10 python benchmarks/bench_scaleout.py --chunks 10000

Reports questions answered, failed questions, ask latency p50/p95 (extractive answers: chat model "none"; the query
embedding comes from the fake Ollama of tests/support, and the time each reader waits for it is model time, measured
by a timing Ollama client and reported apart), and reader cold start (process start to first answer, which includes
mirroring the server's chunks and building BM25). Generated corpus; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401
from _common import peak_rss_mib

from support.adversarial import words
from support.chroma_server import ChromaServer
from support.ollama_server import FakeOllama

REPO = Path(__file__).resolve().parent.parent
COLLECTION = "scaleout"
QUESTIONS = [
    "orchid basalt lantern",
    "quorum ferry pylon",
    "saffron tundra cobalt",
    "marrow ember sextant",
    "willow gazette harbor",
    "tinsel mosaic plinth",
    "quiver zenith orchid",
]
PARAGRAPHS = 8
CHUNKS_PER_FILE = 10
"""What the default chunker makes of one generated file of PARAGRAPHS paragraphs of 140 words."""


def make_corpus(root: Path, chunks: int, seed: int) -> None:
    """About `chunks` chunks of ~200 tokens, CHUNKS_PER_FILE a file."""
    root.mkdir(parents=True, exist_ok=True)
    for f in range(max(1, chunks // CHUNKS_PER_FILE)):
        body = "\n\n".join(words(seed + f * 17 + p, 140) for p in range(PARAGRAPHS))
        (root / f"note{f:05d}.md").write_text(f"# Note {f}\n\n{body}", encoding="utf-8")


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(REPO), "ANONYMIZED_TELEMETRY": "False"}


def index_cmd(docs: Path, idx: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rag",
        "index",
        str(docs),
        "--index",
        str(idx),
        "--chroma-url",
        url,
        "--collection",
        COLLECTION,
        "--embed-backend",
        "ollama",
        "--json",
        *extra,
    ]


def timing_client(host: str) -> object:
    """An Ollama client that adds the seconds spent in `embed` (model time: the query embedding) to `.model_s`."""
    from rag.ollama.client import Client

    class Timing(Client):
        model_s = 0.0

        def embed(self, *args: object, **kwargs: object) -> object:
            t = time.perf_counter()
            try:
                return super().embed(*args, **kwargs)  # type: ignore[arg-type]
            finally:
                self.model_s += time.perf_counter() - t

    return Timing(host)


def reader_main(args: argparse.Namespace) -> None:
    """One reader process: ask until the stop file appears, then print its figures as JSON."""
    started = float(args.started)
    from rag import RAG

    latencies: list[float] = []
    model: list[float] = []
    errors: list[str] = []
    cold = None
    stop = Path(args.stop)
    with RAG(
        Path(args.reader), chroma_url=args.url, collection=COLLECTION, chat_model="none", embed_backend="ollama"
    ) as rag:
        client = timing_client(os.environ["OLLAMA_HOST"])
        rag.client = client  # type: ignore[assignment]
        n = 0
        while not stop.exists() or n < args.min_questions:
            q = QUESTIONS[n % len(QUESTIONS)]
            before = client.model_s  # type: ignore[attr-defined]
            t = time.perf_counter()
            try:
                answer = rag.ask(q)
                if not answer.citations:
                    errors.append(f"no citation for {q!r}")
            except Exception as exc:  # every failure is a finding
                errors.append(f"{type(exc).__name__}: {exc}")
            took = time.perf_counter() - t
            if cold is None:
                cold = time.time() - started
                _progress(f"reader {args.reader}: first answer after {cold:.1f} s")
            else:
                latencies.append(took)
                model.append(client.model_s - before)  # type: ignore[attr-defined]
            n += 1
            if n % 25 == 0:
                _progress(f"reader {args.reader}: {n} questions, p50 {pct(latencies, 0.5) * 1000:.0f} ms")
    own = [a - m for a, m in zip(latencies, model, strict=True)]
    rss_mib = peak_rss_mib()  # VmHWM: ru_maxrss would count the parent's size at fork
    figures = {"cold_s": cold, "latencies": latencies, "own": own, "errors": errors[:20], "failed": len(errors)}
    print(json.dumps(figures | {"peak_rss_mib": rss_mib}))


def _progress(message: str) -> None:
    """One progress line on stderr (long runs: see how far they got)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def cold_start(folder: Path, url: str, stop: Path, questions: int = 60) -> dict:
    """A reader process with an empty `folder`: its figures (cold start, then `questions` more asked)."""
    stop.touch()
    run = subprocess.run(
        [
            sys.executable,
            __file__,
            "--reader",
            str(folder),
            "--url",
            url,
            "--stop",
            str(stop),
            "--started",
            repr(time.time()),
            "--min-questions",
            str(questions),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def cold_only(chunks: int) -> None:
    """One writer indexes `chunks`; then a reader with an empty folder starts from the writer's reader pack, and
    another after the pack was deleted (so it reads every row and builds BM25 itself). Same server, same run."""
    from rag.store.chroma import ChromaStore

    work = Path(tempfile.mkdtemp(prefix="rag-coldstart-"))
    make_corpus(work / "alpha", chunks, 1)
    with FakeOllama() as ollama, ChromaServer(work / "chroma") as server:
        os.environ["OLLAMA_HOST"] = ollama.url
        t = time.perf_counter()
        pre = subprocess.run(
            index_cmd(work / "alpha", work / "wa", server.url),
            capture_output=True,
            text=True,
            env=_env() | {"RAG_READER_PACK_MIN_CHUNKS": "0"},
            check=False,
        )
        assert pre.returncode == 0, pre.stderr[-2000:]
        report = json.loads(pre.stdout)
        _progress(f"writer indexed {report['chunks_added']} chunks in {time.perf_counter() - t:.1f} s")
        with ChromaStore(work / "wa", server.url, COLLECTION, create=False) as store:
            header = store.packs().header()
        assert header is not None, report["warnings"]
        stop = work / "stop"
        packed = cold_start(work / "packed", server.url, stop)
        with ChromaStore(work / "wa", server.url, COLLECTION, create=False) as store:
            store.packs().drop()
        unpacked = cold_start(work / "unpacked", server.url, stop)
        assert server.proc is not None
        server_mib = _peak_rss_mib(server.proc.pid)
    figures = {
        "chunks": report["chunks_added"],
        "writer_s": report["seconds"],
        "pack_mb": round(header.size / 1e6, 1),
        "pack_pieces": header.pieces,
        "cold_start_with_pack_s": round(packed["cold_s"], 2),
        "cold_start_without_pack_s": round(unpacked["cold_s"], 2),
        "ask_without_model_p50_ms_with_pack": round(pct(packed["own"], 0.5) * 1000, 1),
        "ask_without_model_p50_ms_without_pack": round(pct(unpacked["own"], 0.5) * 1000, 1),
        "failed": packed["failed"] + unpacked["failed"],
        "reader_peak_rss_mib_with_pack": round(packed["peak_rss_mib"]),
        "reader_peak_rss_mib_without_pack": round(unpacked["peak_rss_mib"]),
        "chroma_server_peak_rss_mib": server_mib,
    }
    print(json.dumps(figures, indent=2))


def _peak_rss_mib(pid: int) -> int | None:
    """Peak resident memory (VmHWM) of a live process and its children, in MiB; None off Linux."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            return None if current == pid else total
        total += int(status.split("VmHWM:")[1].split()[0]) // 1024
        pids += [int(c) for c in children]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000, help="total chunks over both writers")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument(
        "--cold-only", action="store_true", help="only reader cold start, with and without the writer's reader pack"
    )
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--stop", help=argparse.SUPPRESS)
    parser.add_argument("--started", help=argparse.SUPPRESS)
    parser.add_argument("--min-questions", type=int, default=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        return reader_main(args)
    if args.cold_only:
        return cold_only(args.chunks)
    work = Path(tempfile.mkdtemp(prefix="rag-scaleout-"))
    a_docs, b_docs = work / "alpha", work / "beta"
    make_corpus(a_docs, args.chunks // 2, 1)
    make_corpus(b_docs, args.chunks // 2, 100_000)
    with FakeOllama() as ollama, ChromaServer(work / "chroma") as server:
        os.environ["OLLAMA_HOST"] = ollama.url
        t = time.perf_counter()
        pre = subprocess.run(
            index_cmd(a_docs, work / "wa", server.url), capture_output=True, text=True, env=_env(), check=False
        )
        assert pre.returncode == 0, pre.stderr[-2000:]
        preload_s = time.perf_counter() - t
        preloaded = json.loads(pre.stdout)["chunks_added"]
        _progress(f"writer A indexed {preloaded} chunks in {preload_s:.1f} s; readers start")
        stop = work / "stop"
        readers = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--reader",
                    str(work / f"reader{n}"),
                    "--url",
                    server.url,
                    "--stop",
                    str(stop),
                    "--started",
                    repr(time.time()),
                ],
                stdout=subprocess.PIPE,
                stderr=None,
                text=True,
                env=_env(),
            )
            for n in range(args.readers)
        ]
        t = time.perf_counter()
        wb = subprocess.Popen(
            index_cmd(b_docs, work / "wb", server.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        rebuild = subprocess.run(
            index_cmd(a_docs, work / "wa", server.url, "--rebuild"),
            capture_output=True,
            text=True,
            env=_env(),
            check=False,
        )
        _progress(f"A's rebuild done after {time.perf_counter() - t:.1f} s (exit {rebuild.returncode})")
        b_out, b_err = wb.communicate()
        writers_s = time.perf_counter() - t
        _progress(f"writer B done after {writers_s:.1f} s (exit {wb.returncode})")
        stop.touch()
        results = []
        for r in readers:
            out, _ = r.communicate(timeout=600)
            assert r.returncode == 0, "reader failed (its stderr is above)"
            results.append(json.loads(out.strip().splitlines()[-1]))
        assert rebuild.returncode == 0, rebuild.stderr[-2000:]
        assert wb.returncode == 0, b_err[-2000:]
        # one more cold start on the finished index
        late = cold_start(work / "late", server.url, stop)
    lat = [x for r in results for x in r["latencies"]]
    own = [x for r in results for x in r["own"]]
    chunks_b = json.loads(b_out)["chunks_added"]
    chunks_a = json.loads(rebuild.stdout)["chunks_added"]
    figures = {
        "chunks": chunks_a + chunks_b,
        "readers": args.readers,
        "preload_s": round(preload_s, 1),
        "writers_and_rebuild_s": round(writers_s, 1),
        "questions": sum(len(r["latencies"]) + 1 for r in results),
        "failed": sum(r["failed"] for r in results),
        "ask_p50_ms": round(pct(lat, 0.5) * 1000, 1),
        "ask_p95_ms": round(pct(lat, 0.95) * 1000, 1),
        "ask_without_model_p50_ms": round(pct(own, 0.5) * 1000, 1),
        "ask_without_model_p95_ms": round(pct(own, 0.95) * 1000, 1),
        "cold_start_during_writes_s": round(max(r["cold_s"] for r in results), 2),
        "cold_start_idle_s": round(late["cold_s"], 2),
        "idle_ask_p50_ms": round(pct(late["latencies"], 0.5) * 1000, 1),
        "idle_ask_without_model_p50_ms": round(pct(late["own"], 0.5) * 1000, 1),
        "idle_ask_without_model_p95_ms": round(pct(late["own"], 0.95) * 1000, 1),
        "idle_questions": len(late["latencies"]) + 1,
        "errors": [e for r in results for e in r["errors"]][:5],
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
