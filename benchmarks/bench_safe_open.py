"""Cost of the issue-14 ingest hardening: opening every file with `ingest.safe_open.read_inside` (re-resolve, contain,
O_NONBLOCK|O_NOFOLLOW, fstat, /proc fd check) against a plain `Path.read_bytes`, and the iterative `discover` walk.

Generates its own tree in a temp folder (no shared data needed): FILES small text files spread over folders
`DEPTH` levels deep, plus one chain of 1,200 nested folders. Prints median seconds over `--repeat` runs.

    python benchmarks/bench_safe_open.py [--files 5000] [--repeat 5] [--old-discover PATH/ingest/discover.py]

`--old-discover` loads another version of `ingest/discover.py` (e.g. from `git archive` of an older commit) and times
its walk on the same tree in the same run, as a peer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401

from ingest import discover
from ingest.safe_open import read_inside

DEPTH = 4


def make_tree(root: Path, files: int) -> None:
    for i in range(files):
        folder = root.joinpath(*(f"d{(i >> (3 * level)) % 8}" for level in range(DEPTH)))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.txt").write_text(f"file {i} " + "lorem ipsum dolor " * 40)


def make_chain(root: Path, levels: int) -> list[Path]:
    chain = [root]
    for _ in range(levels):
        chain.append(chain[-1] / "d")
        chain[-1].mkdir(parents=True)
    (chain[-1] / "bottom.txt").write_text("bottom")
    return chain


def median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def paired(first, second, repeat: int) -> tuple[float, float]:
    """Median seconds of two functions run alternately, so load from other processes hits both alike."""
    a, b = [], []
    for _ in range(repeat):
        a.append(median_s(first, 1))
        b.append(median_s(second, 1))
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--old-discover", help="path of another discover.py to time as a peer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "docs"
        make_tree(root, args.files)
        srcs = list(discover(root))
        assert len(srcs) == args.files
        plain, safe = paired(
            lambda: [s.path.read_bytes() for s in srcs],
            lambda: [read_inside(s.path, s.root, s.source) for s in srcs],
            args.repeat,
        )
        old = None
        if not args.old_discover:
            walk = median_s(lambda: list(discover(root)), args.repeat)
        else:
            import importlib.util

            spec = importlib.util.spec_from_file_location("old_discover", args.old_discover)
            module = importlib.util.module_from_spec(spec)
            sys.modules["old_discover"] = module  # dataclasses look the module up
            spec.loader.exec_module(module)
            walk, old = paired(lambda: list(discover(root)), lambda: list(module.discover(root)), args.repeat)
        chain = make_chain(Path(tmp) / "deep", 1200)
        deep = median_s(lambda: list(discover(chain[0])), args.repeat)
        print(f"files={args.files} repeat={args.repeat} cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
        print(f"read all, Path.read_bytes : {plain:.3f} s ({plain / args.files * 1e6:.0f} us/file)")
        print(
            f"read all, read_inside     : {safe:.3f} s ({safe / args.files * 1e6:.0f} us/file) "
            f"ratio {safe / plain:.2f}x"
        )
        print(
            f"discover {args.files} files        : {walk:.3f} s"
            + (f" (old discover {old:.3f} s, ratio {walk / old:.2f}x)" if old else "")
        )
        print(f"discover 1,200 nested dirs : {deep:.3f} s")
        (chain[-1] / "bottom.txt").unlink()
        for folder in reversed(chain[1:]):  # shutil.rmtree recurses per level
            folder.rmdir()


if __name__ == "__main__":
    main()
