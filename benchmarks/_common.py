"""Helpers shared by the benchmark scripts: data location, JSONL, cached embeddings, tables, machine facts."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# The one place benchmarks reach outside their folder: the project and the tests' support package.
for _path in (str(REPO / "tests"), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
EVAL_DIR = Path(os.environ.get("RAG_EVAL_DIR", REPO.parent / "shared" / "eval"))
OUT = REPO / "benchmarks" / "out"
"""Caches and raw results (gitignored)."""
PLOTS = REPO / "benchmarks" / "plots"


def require(name: str, *files: str) -> Path:
    """EVAL_DIR/name, or exit cleanly with a message when it (or one of `files` in it) is absent."""
    folder = EVAL_DIR / name
    missing = [f for f in files if not (folder / f).is_file()]
    if not folder.is_dir() or missing:
        print(
            f"{folder} is not present{' (missing ' + ', '.join(missing) + ')' if missing else ''}: "
            "nothing to benchmark. Put the evaluation data there or set RAG_EVAL_DIR.",
            file=sys.stderr,
        )
        raise SystemExit(0)
    return folder


def read_jsonl(path: Path) -> Iterator[dict]:
    """One parsed object per non-blank line."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _progress(done: int, total: int, started: float, label: str) -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r{label}: {done}/{total} ({rate:.1f}/s)", end="", file=sys.stderr, flush=True)


def embed_cached(texts: Sequence[str], cache: str, *, batch: int = 64) -> np.ndarray:
    """Built-in all-minilm vectors (n x 384, unit length) for `texts`, truncated at the model's 256 tokens.

    Vectors are cached in OUT/<cache>.<form>.npz keyed by the sha256 of each text, so reruns and variants reuse them
    and an interrupted run resumes. <form> is the model's arithmetic: "int8" (shipped, rag.embed.quantized) or
    "float32" (RAG_BENCH_EMBEDDER=float32: the pinned file as it is, for comparisons)."""
    from rag.embed import minilm, quantized

    int8 = os.environ.get("RAG_BENCH_EMBEDDER") != "float32"
    form = "int8" if quantized.is_int8(minilm.load(int8).path) else "float32"
    path = OUT / f"{cache}.{form}.npz"
    known: dict[str, np.ndarray] = {}
    if path.is_file():
        with np.load(path) as data:
            known = dict(zip(data["keys"].tolist(), data["vectors"], strict=False))
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    first: dict[str, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    todo = [key for key in first if key not in known]
    if todo:
        model = minilm.load(int8)
        started = time.perf_counter()
        for start in range(0, len(todo), batch):
            part = todo[start : start + batch]
            for key, vector in zip(part, model.embed([texts[first[k]] for k in part], truncate=True), strict=False):
                known[key] = vector
            _progress(min(start + batch, len(todo)), len(todo), started, f"embedding ({cache})")
            if (start // batch) % 20 == 19 or start + batch >= len(todo):
                _save(path, known)
        print(file=sys.stderr)
    return np.stack([known[k] for k in keys]).astype(np.float32)


def _save(path: Path, vectors: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, keys=np.array(list(vectors)), vectors=np.stack(list(vectors.values())))
    os.replace(tmp, path)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (numbers as given; floats to 3 places)."""
    cells = [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, MiB: Linux's VmHWM, which a new program starts afresh. Not
    ru_maxrss: it carries over from the parent through fork and exec, so a child of a big benchmark process reports
    at least its parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def machine() -> str:
    """One line describing the machine and Python."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem = float("nan")
    return f"{platform.machine()}, {cores} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def save_json(name: str, data: object) -> Path:
    """Write raw results to OUT/<name>.json (for plots and BENCHMARKS.md)."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def plot(name: str, draw: Callable[[Any], None], *, title: str, ylabel: str) -> Path | None:
    """Save PLOTS/<name>.png drawn by `draw(axes)`; None (with a note) when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return None
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    draw(ax)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    PLOTS.mkdir(parents=True, exist_ok=True)
    path = PLOTS / f"{name}.png"
    fig.savefig(path)
    plt.close(fig)
    return path
