"""Ingest speed: parse + chunk (no embedding) over ../shared/eval/pdfs and ../shared/eval/ollama_docs.

Part 1 runs `ingest.extract` in this process, file by file, and reports per file type: files, pages, chunks, MB,
seconds, pages/s, chunks/s, and this process's peak RSS. Part 2 times `ingest.extract_many` (the code path the
indexer uses) over the same files with 0 workers (all in-process), 1 and 2 worker processes, and with small text
files forced into the pool too, to choose `DEFAULT_WORKERS` and `IN_PROCESS_MAX_BYTES`.

    python benchmarks/bench_ingest.py [--repeat 1]
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

from _common import machine, peak_rss_mib, require, save_json, table

import ingest.pipeline
from ingest import ExtractParams, discover, extract, extract_many


def per_type(files) -> list[list[object]]:
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for src in files:
        started = time.perf_counter()
        report, chunks = extract(src, ExtractParams(timeout_s=600))
        row = totals[src.kind]
        row["seconds"] += time.perf_counter() - started
        row["files"] += 1
        row["skipped"] += report.status != "ok"
        row["pages"] += report.pages or 0
        row["chunks"] += len(chunks)
        row["mb"] += src.size / 1e6
    rows = []
    for kind, t in sorted(totals.items()):
        rows.append([kind, int(t["files"]), int(t["skipped"]), int(t["pages"]), int(t["chunks"]), round(t["mb"], 1),
                     round(t["seconds"], 2), round(t["pages"] / t["seconds"], 1) if t["pages"] else "-",
                     round(t["chunks"] / t["seconds"], 1), round(t["mb"] / t["seconds"], 2)])
    return rows


def pool_runs(label: str, files, repeat: int) -> list[list[object]]:
    rows = []
    for workers, forced in ((0, False), (1, False), (2, False), (1, True), (2, True)):
        if forced and not any(f.kind != "pdf" for f in files):
            continue
        ingest.pipeline.IN_PROCESS_MAX_BYTES = -1 if forced else 1 << 20
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            chunks = sum(len(c) for _, _, c in extract_many(files, ExtractParams(timeout_s=600), workers=workers))
            best = min(best, time.perf_counter() - started)
        mode = f"{workers} workers" + (" (text files in pool too)" if forced else "")
        rows.append([label, mode, chunks, round(best, 2), round(chunks / best, 1)])
    ingest.pipeline.IN_PROCESS_MAX_BYTES = 1 << 20
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per pool setting; the best is kept")
    args = parser.parse_args()
    pdfs = list(discover(require("pdfs")))
    docs = list(discover(require("ollama_docs")))
    print(machine())
    rows = per_type(pdfs + docs)
    print("\nIn-process parse + chunk, per file type (ingest.extract):")
    headers = ["type", "files", "skipped", "pages", "chunks", "MB", "s", "pages/s", "chunks/s", "MB/s"]
    print(table(headers, rows))
    print(f"peak RSS of this process: {peak_rss_mib():.0f} MiB")
    pool = pool_runs("pdfs", pdfs, args.repeat) + pool_runs("ollama_docs", docs, args.repeat)
    print("\nextract_many wall time (best of --repeat):")
    print(table(["data", "mode", "chunks", "s", "chunks/s"], pool))
    save_json("bench_ingest", {"machine": machine(), "per_type": rows, "pool": pool,
                               "peak_rss_mib": peak_rss_mib()})


if __name__ == "__main__":
    main()
