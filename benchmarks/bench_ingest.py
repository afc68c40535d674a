"""Ingest speed: parse + chunk (no embedding) over ../shared/eval/pdfs and ../shared/eval/ollama_docs.

1. ours (`ingest.extract_many`, the indexer's path, 0 and 2 workers) against llama_index's SimpleDirectoryReader +
   SentenceSplitter(512, 64) on the same files, in one run; the peer runs in a throwaway venv (created with pip on
   first use; skipped with a message when that fails);
2. pages/s per PDF text extractor (PDFium, pypdf) over the readable shared PDFs, and OCR pages/s (the [ocr] extra);
3. peak RSS while the 352-page book is indexed with workers (parent + worker);
4. what cleaning changed per PDF (running header/footer lines dropped, line-end hyphens joined).

    nice -n 10 python benchmarks/bench_ingest.py [--repeat 2] [--peer-venv /tmp/venv-li] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import REPO, machine, require, save_json, table

from ingest import ExtractParams, discover, extract_many, textclean
from ingest.loaders.pdf import OCR_DPI

BOOK = "en_freeculture_lessig_book.pdf"
PEER_PACKAGES = ["llama-index-core", "llama-index-readers-file"]
PEER_SCRIPT = r"""
import json, logging, sys, time
logging.disable(logging.CRITICAL)
from llama_index.core import SimpleDirectoryReader
from llama_index.core.node_parser import SentenceSplitter
files, repeat = json.load(sys.stdin)
best = None
for _ in range(repeat):
    t0 = time.perf_counter()
    docs = SimpleDirectoryReader(input_files=files, raise_on_error=False).load_data()
    t1 = time.perf_counter()
    nodes = SentenceSplitter(chunk_size=512, chunk_overlap=64).get_nodes_from_documents(docs)
    t2 = time.perf_counter()
    if best is None or t2 - t0 < best["seconds"]:
        best = {"seconds": t2 - t0, "read_s": t1 - t0, "split_s": t2 - t1, "documents": len(docs), "nodes": len(nodes)}
print(json.dumps(best))
"""
RSS_SCRIPT = r"""
import json, os, sys, threading
from ingest import ExtractParams, discover, extract_many

def hwm(pid):  # VmHWM: peak RSS of one process (reset by exec, unlike ru_maxrss), MiB
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return 0.0

peaks, stop = {}, threading.Event()
def watch():
    while not stop.wait(0.1):
        try:
            kids = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
        except OSError:
            kids = []
        for pid in kids:  # the forkserver and, under it, the workers
            if not os.path.exists(f"/proc/{pid}"):
                continue
            for p in [pid, *open(f"/proc/{pid}/task/{pid}/children").read().split()]:
                peaks[p] = max(peaks.get(p, 0.0), hwm(p))
threading.Thread(target=watch, daemon=True).start()
files = list(discover(sys.argv[1]))
params = ExtractParams(timeout_s=600, ocr=sys.argv[3] == "ocr")
chunks = sum(len(c) for _, _, c in extract_many(files, params, workers=int(sys.argv[2])))
stop.set()
print(json.dumps({"chunks": chunks, "parent_mib": hwm(os.getpid()), "worker_mib": max(peaks.values(), default=0.0)}))
"""


def per_type(files) -> list[list[object]]:
    """In-process `ingest.extract` per file type (the rows benchmarks/plot_ingest.py draws)."""
    from collections import defaultdict

    from ingest import extract

    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for src in files:
        started = time.perf_counter()
        report, chunks = extract(src, ExtractParams(timeout_s=600, ocr=False))
        row = totals[src.kind]
        row["seconds"] += time.perf_counter() - started
        row["files"] += 1
        row["skipped"] += report.status != "ok"
        row["pages"] += report.pages or 0
        row["chunks"] += len(chunks)
        row["mb"] += src.size / 1e6
    return [
        [
            kind,
            int(t["files"]),
            int(t["skipped"]),
            int(t["pages"]),
            int(t["chunks"]),
            round(t["mb"], 1),
            round(t["seconds"], 2),
            round(t["pages"] / t["seconds"], 1) if t["pages"] else "-",
            round(t["chunks"] / t["seconds"], 1),
            round(t["mb"] / t["seconds"], 2),
        ]
        for kind, t in sorted(totals.items())
    ]


def ours(files, repeat: int, workers: int, params: ExtractParams) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        chunks = sum(len(c) for _, _, c in extract_many(files, params, workers=workers))
        seconds = time.perf_counter() - started
        if not best or seconds < best["seconds"]:
            best = {"seconds": seconds, "chunks": chunks}
    return best


def peer_python(venv: Path) -> Path | None:
    """The peer venv's python, creating the venv on first use; None (with a message) when that fails."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import llama_index.core, llama_index.readers.file"]
    if python.exists() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python
    print(f"creating the peer venv {venv} (pip install {' '.join(PEER_PACKAGES)}) ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], check=True, timeout=1800)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"peer skipped: cannot install llama_index into {venv}: {exc}", file=sys.stderr)
        return None
    return python


def peer(python: Path, files, repeat: int) -> dict[str, float] | None:
    paths = [str(f.path) for f in files]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [str(python), "-c", PEER_SCRIPT],
        input=json.dumps([paths, repeat]),
        capture_output=True,
        text=True,
        timeout=3600,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        print(f"peer failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def extractor_rates(pdfs) -> list[list[object]]:
    """Raw page text, no checks or cleaning: PDFium and pypdf over the PDFs both can open without a password."""
    import pypdf
    import pypdfium2

    from ingest.loaders.pdf import _quiet_pypdf

    rows = []
    pages = {"pypdfium2": 0, "pypdf": 0}
    seconds = {"pypdfium2": 0.0, "pypdf": 0.0}
    for src in pdfs:
        data = src.path.read_bytes()
        try:
            doc = pypdfium2.PdfDocument(data)
            reader = pypdf.PdfReader(src.path, strict=False)
            if reader.is_encrypted or len(doc) == 0:
                continue
        except Exception:
            continue
        t = time.perf_counter()
        for i in range(len(doc)):
            doc[i].get_textpage().get_text_range()
        seconds["pypdfium2"] += time.perf_counter() - t
        pages["pypdfium2"] += len(doc)
        t = time.perf_counter()
        with _quiet_pypdf():
            for page in reader.pages:
                page.extract_text()
        seconds["pypdf"] += time.perf_counter() - t
        pages["pypdf"] += len(reader.pages)
    for name in ("pypdfium2", "pypdf"):
        rows.append([name, pages[name], round(seconds[name], 2), round(pages[name] / seconds[name], 1)])
    return rows


def ocr_rate(pdfs) -> list[object] | None:
    from ingest.loaders import ocr

    if not ocr.available():
        print("OCR skipped: the [ocr] extra is not installed", file=sys.stderr)
        return None
    import pypdfium2

    scans = [s for s in pdfs if s.rel.startswith("scan_imageonly")]
    ocr.image_text(pypdfium2.PdfDocument(scans[0].path)[0].render(scale=0.5).to_pil())  # load the models first
    pages, words, started = 0, 0, time.perf_counter()
    for src in scans:
        doc = pypdfium2.PdfDocument(src.path)
        for i in range(len(doc)):
            words += len(ocr.image_text(doc[i].render(scale=OCR_DPI / 72).to_pil()).split())
            pages += 1
    seconds = time.perf_counter() - started
    return [pages, words, round(seconds, 2), round(pages / seconds, 2)]


def book_rss(pdfs_dir: Path, workers: int, ocr: bool) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", RSS_SCRIPT, str(pdfs_dir / BOOK), str(workers), "ocr" if ocr else "no-ocr"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900, check=True)
    return json.loads(proc.stdout)


def cleaning(pdfs) -> list[list[object]]:
    import pypdfium2

    from ingest.loaders.pdf import _clean

    rows = []
    for src in pdfs:
        try:
            doc = pypdfium2.PdfDocument(src.path)
        except pypdfium2.PdfiumError:
            continue
        texts = [_clean(doc[i].get_textpage().get_text_range()) for i in range(len(doc))]
        pages = textclean.clean_pages(texts)
        counts = textclean.summary(pages)
        if any(texts):
            rows.append(
                [
                    src.rel,
                    len(doc),
                    counts["header"],
                    counts["footer"],
                    counts["hyphen"],
                    sum(map(len, texts)) - sum(len(p.text) for p in pages),
                ]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs per setting; the best is kept")
    parser.add_argument("--peer-venv", type=Path, default=Path("/tmp/venv-li"))
    parser.add_argument("--no-peer", action="store_true", help="skip llama_index")
    parser.add_argument("--only", choices=["rss", "ocr"], help="run only this part")
    args = parser.parse_args()
    if args.only:
        pdfs_dir = require("pdfs")
        print(machine())
        if args.only == "rss":
            for w in (0, 2):
                print(w, book_rss(pdfs_dir, w, False), book_rss(pdfs_dir, w, True))
        else:
            print(ocr_rate(list(discover(pdfs_dir))))
        return
    pdfs_dir = require("pdfs")
    pdfs = list(discover(pdfs_dir))
    files = pdfs + list(discover(require("ollama_docs")))
    print(machine())
    out: dict[str, object] = {"machine": machine()}

    # OCR (the [ocr] extra) is timed apart, below: the timed text runs do not OCR the two scans
    params_512 = ExtractParams(chunk_tokens=512, chunk_overlap=64, timeout_s=600, ocr=False)
    defaults = ExtractParams(timeout_s=600, ocr=False)
    runs = [
        ["ours, 2 workers, 512/64", *ours(files, args.repeat, 2, params_512).values()],
        ["ours, in-process, 512/64", *ours(files, args.repeat, 0, params_512).values()],
        ["ours, 2 workers, defaults 200/30", *ours(files, args.repeat, 2, defaults).values()],
    ]
    out["per_type"] = per_type(files)
    python = None if args.no_peer else peer_python(args.peer_venv)
    result = peer(python, files, args.repeat) if python else None
    if result:
        runs.append(
            ["llama_index SimpleDirectoryReader + SentenceSplitter(512, 64)", result["seconds"], result["nodes"]]
        )
        out["peer"] = result
    base = next(r[1] for r in runs if r[0].startswith("llama_index")) if result else None
    rows = [[name, round(s, 2), chunks, f"{base / s:.1f}x" if base else "-"] for name, s, chunks in runs]
    print(f"\nParse + chunk of {len(files)} files (best of {args.repeat}):")
    print(table(["pipeline", "s", "chunks", "speed vs llama_index"], rows))
    out["runs"] = rows
    print("\nIn-process parse + chunk per file type (ingest.extract, defaults, OCR off):")
    print(
        table(
            ["type", "files", "skipped", "pages", "chunks", "MB", "s", "pages/s", "chunks/s", "MB/s"], out["per_type"]
        )
    )  # type: ignore[arg-type]

    rates = extractor_rates(pdfs)
    print("\nPDF text extractors, raw page text over the same PDFs:")
    print(table(["extractor", "pages", "s", "pages/s"], rates))
    out["extractors"] = rates
    ocr_row = ocr_rate(pdfs)
    if ocr_row:
        print(f"\nOCR (RapidOCR, pages rendered at {OCR_DPI} dpi by PDFium, models loaded before timing):")
        print(table(["pages", "words", "s", "pages/s"], [ocr_row]))
        out["ocr"] = ocr_row

    rss = [
        [w, "on" if ocr else "off", *(round(v) for v in book_rss(pdfs_dir, w, ocr).values())]
        for w in (0, 2)
        for ocr in (False, True)
    ]
    print(f"\nPeak RSS while extracting {BOOK} (352 pages):")
    print(table(["workers", "OCR", "chunks", "parent MiB", "largest worker MiB"], rss))
    out["book_rss"] = rss

    clean_rows = cleaning(pdfs)
    print("\nCleaning per PDF (PDFium text):")
    print(table(["file", "pages", "header lines", "footer lines", "hyphens joined", "chars removed"], clean_rows))
    out["cleaning"] = clean_rows
    out["self_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    save_json("bench_ingest", out)


if __name__ == "__main__":
    main()
