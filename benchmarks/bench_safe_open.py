"""Cost of the issue-14 ingest hardening: opening every file with `ingest.safe_open.read_inside` (re-resolve, contain,
O_NONBLOCK|O_NOFOLLOW, fstat, /proc fd check) against a plain `Path.read_bytes`, and the iterative `discover` walk.

Generates its own tree in a temp folder (no shared data needed): FILES small text files spread over folders
`DEPTH` levels deep, plus one chain of 1,200 nested folders. Prints median seconds over `--repeat` runs.

    python benchmarks/bench_safe_open.py [--files 5000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the project on sys.path)

from ingest import discover  # noqa: E402
from ingest.safe_open import read_inside  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "docs"
        make_tree(root, args.files)
        srcs = list(discover(root))
        assert len(srcs) == args.files
        plain = median_s(lambda: [s.path.read_bytes() for s in srcs], args.repeat)
        safe = median_s(lambda: [read_inside(s.path, s.root, s.source) for s in srcs], args.repeat)
        walk = median_s(lambda: list(discover(root)), args.repeat)
        chain = make_chain(Path(tmp) / "deep", 1200)
        deep = median_s(lambda: list(discover(chain[0])), args.repeat)
        print(f"files={args.files} repeat={args.repeat} cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
        print(f"read all, Path.read_bytes : {plain:.3f} s ({plain / args.files * 1e6:.0f} us/file)")
        print(f"read all, read_inside     : {safe:.3f} s ({safe / args.files * 1e6:.0f} us/file) "
              f"ratio {safe / plain:.2f}x")
        print(f"discover {args.files} files        : {walk:.3f} s")
        print(f"discover 1,200 nested dirs : {deep:.3f} s")
        (chain[-1] / "bottom.txt").unlink()
        for folder in reversed(chain[1:]):  # shutil.rmtree recurses per level
            folder.rmdir()


if __name__ == "__main__":
    main()
