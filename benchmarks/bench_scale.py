"""Scale curve: build time without embedding, disk, query latency without model time, peak RSS, incremental costs.

Command (from the repo root; no data needed):

    python benchmarks/bench_scale.py                       # 10k and 100k chunks
    python benchmarks/bench_scale.py --sizes 10000 --noop-files 10000

Corpus: the synthetic index of benchmarks/_synthetic.py, shared with bench_query (N chunks of ~120 Zipf
pseudo-words, 100 chunks per file, random unit vectors, written through rag.store.catalog + rag.store +
rag.retrieve.bm25), built under $RAG_SCALE_DIR (default /tmp/rag-scale). Per size:
- build: seconds for catalog + Chroma + BM25 (no embedding), and disk per part;
- query: bench_query's measurement in a fresh process (p50/p95 ms of retrieve and ask without model time, peak RSS);
- one changed file (100 chunks): catalog commit + Chroma upsert of 100 random vectors + `bm25.refresh`, against a
  full BM25 rebuild; the BM25 no-op check (`bm25.is_current`, header only);
- `rag status`: `python -m rag status` wall time (process start included) and `index_status()` in-process;
- with --reader-share: the query measurement again without Chroma (BM25 alone, the query still embedded), i.e. what
  a reader on the Chroma-server path holds itself while the server keeps the vectors and the graph.
Peak RSS is the query process's VmHWM (`_common.peak_rss_mib`).
With --noop-files F: F one-line text files indexed through the test Ollama server (tests/support/ollama_server.py in
its own process), then the wall time of a no-op `python -m rag index` over them (end to end, process start included).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import REPO, machine, save_json, table
from _synthetic import CHUNKS_PER_FILE, build, file_chunks, source_of, texts, unit_vectors

SCALE = Path(os.environ.get("RAG_SCALE_DIR", "/tmp/rag-scale"))
ENV = {**os.environ, "PYTHONPATH": str(REPO), "ANONYMIZED_TELEMETRY": "False"}


def _du(path: Path) -> int:
    return (
        sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if path.is_dir()
        else (path.stat().st_size if path.exists() else 0)
    )


def _disk(folder: Path) -> dict[str, float]:
    """MiB per part of the index folder."""
    from rag.store.layout import layout

    lay = layout(folder, None, "default")
    bm25 = sum(p.stat().st_size for p in lay.bm25.parent.glob(lay.bm25.name + ".*"))
    chroma = _du(lay.chroma_dir) if lay.chroma_dir else 0
    return {
        "catalog": _du(lay.catalog) / 2**20,
        "bm25": bm25 / 2**20,
        "chroma": chroma / 2**20,
        "total": _du(folder) / 2**20,
    }


def _wall(cmd: list[str], repeat: int = 3) -> float:
    """Median wall seconds of a subprocess (check=True)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=ENV)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _incremental(n: int, folder: Path) -> dict[str, float]:
    """One 100-chunk file changed in the n-chunk index: the costs other than embedding."""
    from rag.retrieve import bm25
    from rag.store.catalog import Catalog
    from rag.store.chroma import ChromaStore
    from rag.store.layout import layout

    lay = layout(folder, None, "default")
    store = ChromaStore(folder, None, "default")
    out: dict[str, float] = {}
    with Catalog(lay.catalog, collection="default") as catalog:
        started = time.perf_counter()
        assert bm25.is_current(lay.bm25, catalog.generation()) or bm25.refresh(catalog, lay.bm25)
        out["bm25_noop_check_ms"] = (time.perf_counter() - started) * 1000
        changed = [t + " changed" for t in texts(CHUNKS_PER_FILE, seed=int(time.time()))]
        record, chunks = file_chunks(source_of(0), changed, folder, f"changed{time.time_ns()}", version=1)
        vectors = unit_vectors(len(chunks), 384, seed=3)
        started = time.perf_counter()
        store.upsert(chunks, list(vectors), ["text"] * len(chunks))
        dropped = catalog.commit_files([(record, chunks)])
        store.delete(sorted(dropped))
        out["store_and_catalog_s"] = time.perf_counter() - started
        started = time.perf_counter()
        bm25.refresh(catalog, lay.bm25)
        out["bm25_incremental_s"] = time.perf_counter() - started
        started = time.perf_counter()
        bm25.build(catalog.iter_chunks(), catalog.generation())
        out["bm25_full_build_s"] = time.perf_counter() - started
        started = time.perf_counter()
        assert bm25.load(lay.bm25) is not None
        out["bm25_load_s"] = time.perf_counter() - started
    out["one_file_total_s"] = out["store_and_catalog_s"] + out["bm25_incremental_s"]
    return out


def _status(folder: Path) -> dict[str, float]:
    from rag.config import Settings
    from rag.index.status import index_status

    settings = Settings.resolve(index_dir=folder)
    started = time.perf_counter()
    index_status(settings)
    first = time.perf_counter() - started
    return {
        "status_cli_s": _wall([sys.executable, "-m", "rag", "status", "--index", str(folder)]),
        "status_inprocess_first_s": first,
    }


def _query(n: int, folder: Path, *, dense: bool = True) -> dict[str, Any]:
    code = (
        "import sys, json; sys.path.insert(0, 'benchmarks'); import bench_query as q; from pathlib import Path; "
        f"print(json.dumps(q.measure({n}, Path({str(folder)!r}), dense={dense})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=ENV, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _noop_index(files: int) -> dict[str, float]:
    """F one-line files indexed through the test Ollama server (its own process, as Ollama is), then no-op runs."""
    server = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "support" / "ollama_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        ENV["OLLAMA_HOST"] = server.stdout.readline().strip()
        return _noop_runs(files)
    finally:
        server.terminate()
        server.wait()


def _noop_runs(files: int) -> dict[str, float]:
    docs, idx = SCALE / f"noop_{files}" / "docs", SCALE / f"noop_{files}" / "index"
    if not (SCALE / f"noop_{files}" / "indexed").exists():
        docs.mkdir(parents=True, exist_ok=True)
        for i in range(files):
            sub = docs / f"d{i // 500:03d}"
            sub.mkdir(exist_ok=True)
            (sub / f"f{i:05d}.txt").write_text(f"File {i} says the port is {10000 + i}.\n", encoding="utf-8")
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rag", "index", str(docs), "--index", str(idx), "--embed-backend", "ollama"],
            check=True,
            capture_output=True,
            env=ENV,
        )
        (SCALE / f"noop_{files}" / "indexed").write_text(str(time.perf_counter() - started), encoding="utf-8")
    cmd = [sys.executable, "-m", "rag", "index", str(docs), "--index", str(idx), "--embed-backend", "ollama"]
    return {
        "files": files,
        "noop_index_cli_s": _wall(cmd),
        "python_start_s": _wall([sys.executable, "-c", "import rag.cli"]),
    }


def _bm25_scale(n: int) -> dict[str, Any]:
    """The lexical side alone at n chunks (catalog + BM25, no Chroma): full build, one-file update, no-op check,
    load, and query latency in a fresh process with its peak RSS."""
    from rag.retrieve import bm25
    from rag.store.catalog import Catalog

    folder = SCALE / f"bm25_{n}"
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / "default.bm25"
    out: dict[str, Any] = {"chunks": n}
    with Catalog(folder / "catalog.sqlite3", collection="default") as catalog:
        if catalog.counts()[1] != n:
            corpus = texts(n)
            files = [
                file_chunks(source_of(f // CHUNKS_PER_FILE), corpus[f : f + CHUNKS_PER_FILE], folder, f)
                for f in range(0, n, CHUNKS_PER_FILE)
            ]
            for i in range(0, len(files), 50):
                catalog.commit_files(files[i : i + 50])
        started = time.perf_counter()
        bm25.load_or_build(catalog, stem)  # first build (or load) in the new format
        out["first_s"] = time.perf_counter() - started
        started = time.perf_counter()
        full = bm25.build(catalog.iter_chunks(), catalog.generation())
        out["full_build_s"] = time.perf_counter() - started
        del full
        out["disk_mib"] = sum(q.stat().st_size for q in folder.glob("default.bm25.*")) / 2**20
        started = time.perf_counter()
        assert not bm25.refresh(catalog, stem)
        out["noop_check_ms"] = (time.perf_counter() - started) * 1000
        changed = [t + " changed" for t in texts(CHUNKS_PER_FILE, seed=time.time_ns() % 2**31)]
        catalog.commit_files([file_chunks(source_of(1), changed, folder, f"c{time.time_ns()}", version=1)])
        started = time.perf_counter()
        assert bm25.refresh(catalog, stem)
        out["one_file_update_s"] = time.perf_counter() - started
    code = (
        "import json, sys, time; sys.path.insert(0, 'benchmarks'); import numpy as np; "
        "from _common import peak_rss_mib; "
        "from rag.retrieve import bm25; from _synthetic import texts; "
        f"t = time.perf_counter(); index = bm25.load({str(stem)!r}); load_s = time.perf_counter() - t; "
        "rng = np.random.default_rng(2); corpus = texts(2000); ms = []\n"
        "for i in range(105):\n"
        "    q = ' '.join(rng.choice(corpus[int(rng.integers(len(corpus)))].rstrip('.').split(), 6))\n"
        "    t = time.perf_counter(); index.search(q, 24); ms.append((time.perf_counter() - t) * 1000)\n"
        "ms = ms[5:]; print(json.dumps({'load_s': load_s, 'p50': float(np.percentile(ms, 50)), "
        "'p95': float(np.percentile(ms, 95)), 'rss_mib': peak_rss_mib()}))"
    )
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=ENV, cwd=REPO)
    out["query"] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--noop-files", type=int, default=0)
    parser.add_argument("--skip-query", action="store_true")
    parser.add_argument(
        "--reader-share",
        action="store_true",
        help="also measure the query process without Chroma (BM25 only): what a Chroma-server reader holds itself",
    )
    parser.add_argument("--bm25-sizes", type=int, nargs="*", default=[], help="lexical side alone at these sizes")
    args = parser.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    results = []
    for n in args.sizes:
        folder = SCALE / f"query_{n}"
        build(n, folder)
        row: dict[str, Any] = {
            "chunks": n,
            "build_s": json.loads((folder / "built.json").read_text())["build_s"],
            "disk_mib": _disk(folder),
        }
        if not args.skip_query:
            row["query"] = _query(n, folder)
        if args.reader_share:
            row["query_without_dense"] = _query(n, folder, dense=False)
        row["incremental"] = _incremental(n, folder)
        row["status"] = _status(folder)
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    noop = _noop_index(args.noop_files) if args.noop_files else None
    lexical = []
    for n in args.bm25_sizes:
        lexical.append(_bm25_scale(n))
        print(json.dumps(lexical[-1]), file=sys.stderr, flush=True)
    rows = []
    for r in results:
        q = r.get("query", {}).get("phases", {})
        rows.append(
            (
                f"{r['chunks']:,}",
                f"{r['build_s']:.0f}",
                f"{r['disk_mib']['total']:.0f}",
                f"{q['retrieve']['p50']:.1f} / {q['retrieve']['p95']:.1f}" if q else "-",
                f"{q['ask (no model)']['p50']:.1f} / {q['ask (no model)']['p95']:.1f}" if q else "-",
                f"{r['query']['rss_mib']:.0f}" if q else "-",
                f"{r['incremental']['one_file_total_s']:.2f}",
                f"{r['incremental']['bm25_incremental_s']:.2f}",
                f"{r['incremental']['bm25_full_build_s']:.1f}",
                f"{r['incremental']['bm25_noop_check_ms']:.1f}",
                f"{r['status']['status_cli_s']:.2f}",
            )
        )
    print(f"Scale ({machine()})")
    if rows:
        print(
            table(
                [
                    "chunks",
                    "build s",
                    "disk MiB",
                    "retrieve p50/p95 ms",
                    "ask p50/p95 ms",
                    "peak RSS MiB",
                    "1 file changed s",
                    "BM25 update s",
                    "BM25 full build s",
                    "BM25 no-op check ms",
                    "rag status s",
                ],
                rows,
            )
        )
    shares = [r for r in results if "query_without_dense" in r]
    if shares:
        print("\nWithout Chroma (BM25 only, query still embedded): the share a Chroma-server reader holds itself")
        print(
            table(
                ["chunks", "retrieve p50/p95 ms", "ask p50/p95 ms", "peak RSS MiB"],
                [
                    (
                        f"{r['chunks']:,}",
                        "{p50:.1f} / {p95:.1f}".format(**r["query_without_dense"]["phases"]["retrieve"]),
                        "{p50:.1f} / {p95:.1f}".format(**r["query_without_dense"]["phases"]["ask (no model)"]),
                        f"{r['query_without_dense']['rss_mib']:.0f}",
                    )
                    for r in shares
                ],
            )
        )
    if noop:
        print(
            f"\nno-op `rag index` of {noop['files']:,} files: {noop['noop_index_cli_s']:.2f} s end to end "
            f"(Python + `import rag.cli` alone: {noop['python_start_s']:.2f} s)"
        )
    if lexical:
        print(
            table(
                [
                    "chunks",
                    "BM25 first build s",
                    "full build s",
                    "disk MiB",
                    "no-op check ms",
                    "1 file update s",
                    "load s",
                    "search p50/p95 ms",
                    "peak RSS MiB (load + search)",
                ],
                [
                    (
                        f"{r['chunks']:,}",
                        f"{r['first_s']:.1f}",
                        f"{r['full_build_s']:.1f}",
                        f"{r['disk_mib']:.0f}",
                        f"{r['noop_check_ms']:.1f}",
                        f"{r['one_file_update_s']:.2f}",
                        f"{r['query']['load_s']:.2f}",
                        f"{r['query']['p50']:.1f} / {r['query']['p95']:.1f}",
                        f"{r['query']['rss_mib']:.0f}",
                    )
                    for r in lexical
                ],
            )
        )
    save_json("bench_scale", {"machine": machine(), "results": results, "noop": noop, "lexical": lexical})


if __name__ == "__main__":
    main()
