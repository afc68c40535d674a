"""Plot ingest throughput per file type from bench_ingest.py's raw results (benchmarks/out/bench_ingest.json).

    python benchmarks/bench_ingest.py && python benchmarks/plot_ingest.py

Draws benchmarks/plots/ingest_throughput.png: chunks/s of parse + chunk per file type in one process
(`ingest.extract`), and for PDFs also `ingest.extract_many` with 0, 1 and 2 worker processes; bars are labelled
with chunks/s and MB/s. Log scale: Markdown is ~40x faster than PDF.
"""

from __future__ import annotations

import json

from _common import OUT, plot


def main() -> None:
    path = OUT / "bench_ingest.json"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run python benchmarks/bench_ingest.py first")
    data = json.loads(path.read_text(encoding="utf-8"))
    bars: list[tuple[str, float, str]] = []  # (label, chunks/s, note)
    for kind, files, _skipped, _pages, _chunks, _mb, _seconds, _pps, cps, mbps in data["per_type"]:
        bars.append((f"{kind} ({files} files)\nin-process", cps, f"{cps:.0f} chunks/s, {mbps:.2f} MB/s"))
    for label, mode, _chunks, _seconds, cps in data["pool"]:
        if label == "pdfs":
            mode = mode.replace("1 workers", "1 worker")
            bars.append((f"pdf, extract_many\n{mode}", cps, f"{cps:.0f} chunks/s"))

    def draw(ax) -> None:
        labels = [b[0] for b in bars]
        values = [b[1] for b in bars]
        colours = ["C0" if "in-process" in lab else "C1" for lab in labels]
        ax.barh(range(len(bars)), values, color=colours)
        ax.set_yticks(range(len(bars)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(right=max(values) * 8)
        for i, (_, value, note) in enumerate(bars):
            ax.text(value * 1.1, i, note, va="center", fontsize=8)
        ax.set_xlabel("chunks per second (log scale; parse + chunk, no embedding)")
        ax.grid(axis="x", alpha=0.3)

    out = plot(
        "ingest_throughput", draw, title="Ingest throughput per file type (2 cores, 200-token chunks)", ylabel=""
    )
    print(out or "no plot (matplotlib missing)")


if __name__ == "__main__":
    main()
