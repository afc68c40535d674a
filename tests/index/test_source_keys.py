"""Source keys: unique per root, a path inside an indexed root maps to that root, odd names survive."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import RAG
from rag.errors import IngestError
from rag.store.catalog import Catalog, FileRecord
from rag.store.layout import layout

REPO = Path(__file__).resolve().parents[2]
TEXT = "The glacier feeds the river. The falcon nests above the quarry. Marble steps lead to the beacon. " * 5


def _rag(index: Path) -> RAG:
    return RAG(index, embed_backend="ollama", chunk_tokens=60, chunk_overlap=10)


def _files(rag: RAG) -> dict[str, FileRecord]:
    lay = layout(rag.settings.index_dir, rag.settings.chroma_url, rag.settings.collection)
    with Catalog(lay.catalog, create=False) as cat:
        return cat.files()


def _write(path: Path, text: str = TEXT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{path.name}. {text}", encoding="utf-8")
    return path


def test_two_roots_with_the_same_name_get_distinct_keys(ollama, tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "notes", tmp_path / "b" / "notes"
    _write(a / "x.md")
    _write(b / "x.md", "A different text about the orchard and the lantern. " * 5)
    with _rag(tmp_path / "idx") as rag:
        assert rag.index(a).added == 1
        second = rag.index(b)
        assert (second.added, second.skipped) == (1, 0)
        files = _files(rag)
        assert {s: r.root for s, r in files.items()} == {"notes/x.md": str(a), "notes~b/x.md": str(b)}
        assert rag.index(b).unchanged == 1  # the root keeps its key on every run
        removed = rag.remove("notes")
        assert removed.files == ["notes/x.md"]
        assert set(_files(rag)) == {"notes~b/x.md"}
        assert rag.remove(tmp_path / "b").files == ["notes~b/x.md"]  # a folder above a root removes all of it


def test_index_a_file_or_subfolder_of_an_indexed_folder(ollama, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for name in ("one.txt", "two.txt", "sub/three.md"):
        _write(docs / name)
    with _rag(tmp_path / "idx") as rag:
        rag.index(docs)
        before = _files(rag)
        (docs / "one.txt").write_text("one.txt, rewritten. " + TEXT, encoding="utf-8")
        report = rag.index(docs / "one.txt")
        assert (report.updated, report.skipped, report.removed) == (1, 0, 0)
        assert [o.source for o in report.files] == ["docs/one.txt"]
        sub = rag.index(docs / "sub")
        assert (sub.unchanged, sub.added, sub.removed, sub.skipped) == (1, 0, 0, 0)
        after = _files(rag)
        assert set(after) == set(before) and {r.root for r in after.values()} == {str(docs)}
        (col,) = rag.status().collections
        assert col.roots == [str(docs)]  # the file is not another root
        (docs / "sub" / "three.md").unlink()
        assert rag.index(docs / "sub").removed == 1  # a subfolder sync removes what left it, and only that
        assert set(_files(rag)) == {"docs/one.txt", "docs/two.txt"}


def test_a_single_file_indexed_twice_is_unchanged(ollama, tmp_path: Path) -> None:
    one = _write(tmp_path / "loose" / "memo.txt")
    with _rag(tmp_path / "idx") as rag:
        assert rag.index(one).added == 1
        again = rag.index(one)
        assert (again.unchanged, again.skipped, again.added) == (1, 0, 0)


def test_keys_from_before_unique_keys_keep_working(ollama, tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "docs", tmp_path / "b" / "docs"
    _write(a / "x.txt")
    _write(b / "y.txt")
    with _rag(tmp_path / "idx") as rag:
        rag.index(a)
        lay = layout(rag.settings.index_dir, rag.settings.chroma_url, rag.settings.collection)
        with Catalog(lay.catalog) as cat:  # what an older version wrote for b: the bare folder name as key
            cat.commit_files(
                [
                    (
                        FileRecord(
                            source="docs/y.txt", root=str(b), size=1, mtime_ns=1, sha256="0" * 64, kind="text", chunks=0
                        ),
                        [],
                    )
                ]
            )
        report = rag.index(b)
        assert report.updated == 1 and [o.source for o in report.files] == ["docs/y.txt"]
        with pytest.raises(IngestError, match="matches files of 2 indexed folders"):
            rag.remove("docs")  # ambiguous: refused, nothing removed
        assert set(_files(rag)) == {"docs/x.txt", "docs/y.txt"}
        assert rag.remove(b).files == ["docs/y.txt"]


def test_non_utf8_names_index_and_print_valid_json(ollama, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    raw = os.fsencode(docs) + b"/r\xe9sum\xe9.txt"
    with open(raw, "wb") as fh:
        fh.write(TEXT.encode())
    _write(docs / "plain.txt")
    env = {**os.environ, "PYTHONPATH": str(REPO), "OLLAMA_HOST": ollama.url}
    cmd = [
        sys.executable,
        "-m",
        "rag",
        "index",
        str(docs),
        "--index",
        str(tmp_path / "idx"),
        "--embed-backend",
        "ollama",
        "--json",
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report = json.loads(done.stdout.decode("utf-8"))  # strict: valid UTF-8
    assert {f["source"]: f["status"] for f in report["files"]} == {
        "docs/r\\xe9sum\\xe9.txt": "added",
        "docs/plain.txt": "added",
    }
    with RAG(tmp_path / "idx", embed_backend="ollama") as rag:  # the CLI's default chunking
        assert rag.index(docs).unchanged == 2
        assert rag.remove(os.fsdecode(raw)).files == ["docs/r\\xe9sum\\xe9.txt"]


def test_a_root_whose_own_path_is_not_utf8_is_refused_with_the_fix(ollama, tmp_path: Path) -> None:
    bad = os.fsdecode(os.fsencode(tmp_path) + b"/n\xf6tes")
    os.mkdir(bad)
    _write(Path(bad) / "a.txt")
    with _rag(tmp_path / "idx") as rag:
        with pytest.raises(IngestError, match="not valid UTF-8: rename it, or index the folder above it"):
            rag.index(bad)
        assert not (tmp_path / "idx" / "default.catalog.sqlite").exists()  # refused before any write
