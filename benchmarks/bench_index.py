"""Index-stage benchmarks (results go to BENCHMARKS.md, "## Index").

1. Pipeline overhead: `RAG.index` wall time for a fresh index of a generated folder, against the pure embedding time
   of the same chunks (one `Embedder.embed_documents` call over all the catalog's chunk texts, same batch size and
   in-flight limit), both against the test Ollama server (tests/support/ollama_server.py) with a fixed per-request
   latency.
   Overhead = index / embed - 1 (target <= 15%).
2. No-op re-index: `RAG.index` over 1,000 small files that are all unchanged (target <= 1 s), in process; the whole
   `python -m rag index` command is timed too (includes interpreter start and imports).
3. Peak RSS: a fresh process indexes the 352-page book ../shared/eval/pdfs/en_freeculture_lessig_book.pdf with the
   built-in embedder (no Ollama); peak RSS of that process and of its extraction workers.

    python benchmarks/bench_index.py [--latency 0.08 0.25 0.5] [--files 300] [--skip-book]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from _common import EVAL_DIR, OUT

from support.ollama_server import FakeOllama

WORDS = [
    "river",
    "mountain",
    "lantern",
    "harbor",
    "orchard",
    "meadow",
    "compass",
    "glacier",
    "violin",
    "canyon",
    "ember",
    "falcon",
    "thistle",
    "quarry",
    "saddle",
    "beacon",
    "marble",
    "willow",
    "anchor",
    "prism",
    "cobalt",
    "juniper",
    "tundra",
    "velvet",
]
BOOK = "pdfs/en_freeculture_lessig_book.pdf"


def _doc(seed: int, words: int) -> str:
    body = " ".join(
        WORDS[(seed * 31 + i * 7 + i // 5) % len(WORDS)] + ("." if i % 14 == 13 else "") for i in range(words)
    )
    return f"# Note {seed}\n\nDocument {seed}. {body}\n"


def make_folder(root: Path, files: int, words: int) -> Path:
    for i in range(files):
        sub = root / f"part{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note{i:05d}.md").write_text(_doc(i, words), encoding="utf-8")
    return root


@contextlib.contextmanager
def _server_process(latency: float) -> Iterator[str]:
    """The test Ollama server in its own process (as Ollama is), with `latency` seconds per request."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "ollama_server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def bench_overhead(latency: float, files: int, words: int, repeats: int) -> dict:
    import chromadb  # noqa: F401

    from rag import RAG
    from rag.embed import open_embedder
    from rag.ollama import Client
    from rag.store.catalog import Catalog
    from rag.store.layout import layout

    rows = []
    with _server_process(latency) as url, tempfile.TemporaryDirectory() as tmp:
        os.environ["OLLAMA_HOST"] = url
        docs = make_folder(Path(tmp) / "docs", files, words)
        for r in range(repeats):
            with RAG(Path(tmp) / f"idx{r}", embed_backend="ollama") as rag:
                t0 = time.perf_counter()
                report = rag.index(docs)
                index_s = time.perf_counter() - t0
                lay = layout(rag.settings.index_dir, None, "default")
                with Catalog(lay.catalog, create=False) as cat:
                    texts = [text for _, text, _ in cat.iter_chunks()]
            with Client(url) as client:  # the same work minus the pipeline: open the embedder, embed every chunk
                t0 = time.perf_counter()
                open_embedder("all-minilm", backend="ollama", client=client).embed_documents(texts)
                embed_s = time.perf_counter() - t0
            rows.append(
                dict(
                    chunks=len(texts),
                    files=report.added,
                    index_s=round(index_s, 3),
                    embed_s=round(embed_s, 3),
                    overhead=round(index_s / embed_s - 1, 4),
                )
            )
            print(f"latency {latency}: {rows[-1]}", file=sys.stderr)
    overheads = sorted(row["overhead"] for row in rows)
    return dict(latency_s=latency, runs=rows, median_overhead=overheads[len(overheads) // 2])


def bench_noop(files: int) -> dict:
    from rag import RAG

    with FakeOllama() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ["OLLAMA_HOST"] = server.url
        docs = make_folder(Path(tmp) / "docs", files, 25)
        idx = Path(tmp) / "idx"
        with RAG(idx, embed_backend="ollama") as rag:
            t0 = time.perf_counter()
            first = rag.index(docs)
            first_s = time.perf_counter() - t0
        times = []
        for _ in range(3):
            server.reset()
            with RAG(idx, embed_backend="ollama") as rag:
                t0 = time.perf_counter()
                again = rag.index(docs)
                times.append(time.perf_counter() - t0)
            assert again.unchanged == files and server.count("/api/embed") == 0
        cmd = [
            sys.executable,
            "-m",
            "rag",
            "index",
            str(docs),
            "--index",
            str(idx),
            "--embed-backend",
            "ollama",
            "--json",
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(
            check=False, args=cmd, capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(REPO)}
        )
        cli_s = time.perf_counter() - t0
        assert proc.returncode == 0, proc.stderr
    return dict(
        files=files,
        first_index_s=round(first_s, 2),
        chunks=first.chunks_added,
        noop_s=[round(t, 3) for t in times],
        noop_best_s=round(min(times), 3),
        cli_noop_s=round(cli_s, 2),
    )


_RSS_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from rag import RAG
    t0 = time.perf_counter()
    with RAG(sys.argv[2], embed_backend="builtin") as rag:
        report = rag.index(sys.argv[1])
    hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))  # not ru_maxrss
    out = dict(seconds=round(time.perf_counter() - t0, 1), chunks=report.chunks_added, files=report.added,
               skipped=report.skipped, self_peak_mb=round(hwm / 1024))
    print(json.dumps(out))
""")


def _tree_rss_mb(root: int) -> float:
    """Current RSS of `root` and all its descendants (Linux /proc), in MiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            status = (entry / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(rss.get(pid, 0) for pid in tree) / 1024


def bench_book_rss() -> dict | None:
    book = EVAL_DIR / BOOK
    if not book.is_file():
        print(f"{book} is not present: skipping the RSS benchmark", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "book"
        folder.mkdir()
        shutil.copy(book, folder / book.name)
        proc = subprocess.Popen(
            [sys.executable, "-c", _RSS_SCRIPT, str(folder), str(Path(tmp) / "idx")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=os.environ | {"PYTHONPATH": str(REPO)},
        )
        tree_peak = 0.0
        while proc.poll() is None:
            tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
            time.sleep(0.1)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(err)
        result = json.loads(out.strip().splitlines()[-1])
    result |= dict(tree_peak_mb=round(tree_peak), embedder="builtin all-minilm (ONNX int8)", pages=352)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency",
        type=float,
        nargs="+",
        default=[0.08, 0.25, 0.5],
        help="seconds the test server adds to every request (default: 0.08 0.25 0.5)",
    )
    parser.add_argument("--files", type=int, default=300, help="files in the overhead corpus")
    parser.add_argument("--words", type=int, default=600, help="words per file in the overhead corpus")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-book", action="store_true")
    args = parser.parse_args()
    results = dict(
        machine=dict(cpus=os.cpu_count(), python=sys.version.split()[0]),
        overhead=[bench_overhead(latency, args.files, args.words, args.repeats) for latency in args.latency],
        noop=bench_noop(1000),
        book=None if args.skip_book else bench_book_rss(),
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench_index.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
