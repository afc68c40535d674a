"""The SQLite catalog: atomic per-file commits, generation counter, manifest, readers beside a writer."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ingest.chunking import Chunk
from rag.errors import StoreError
from rag.store.catalog import Catalog, FileRecord
from rag.store.manifest import Manifest


def _chunks(source: str, texts: list[str], sha: str = "s" * 64) -> list[Chunk]:
    out, pos = [], 0
    for i, text in enumerate(texts):
        out.append(
            Chunk(
                id=f"{source}#{text}",
                text=text,
                source=source,
                ordinal=i,
                char_start=pos,
                char_end=pos + len(text),
                page_start=i + 1 if source.endswith(".pdf") else None,
                page_end=i + 1 if source.endswith(".pdf") else None,
                heading_path=("H1", "H2 > x"),
                file_sha256=sha,
            )
        )
        pos += len(text) + 1
    return out


def _record(source: str, n: int, root: str = "/r", sha: str = "s" * 64) -> FileRecord:
    return FileRecord(source=source, root=root, size=100, mtime_ns=5, sha256=sha, kind="text", chunks=n)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    with Catalog(tmp_path / "c.catalog.sqlite") as cat:
        yield cat


def test_commit_replace_and_dropped_ids(catalog: Catalog) -> None:
    g0 = catalog.generation()
    a = _chunks("r/a.pdf", ["one", "two", "three"])
    assert catalog.commit_files([(_record("r/a.pdf", 3), a)]) == set()
    assert catalog.generation() == g0 + 1
    assert catalog.chunk_ids() == {c.id for c in a}
    got = catalog.get_chunks([a[1].id, "missing"])
    assert list(got) == [a[1].id] and got[a[1].id] == a[1]  # round trip, heading path and pages included
    b = _chunks("r/a.pdf", ["one", "four"])
    dropped = catalog.commit_files([(_record("r/a.pdf", 2), b)])
    assert dropped == {a[1].id, a[2].id}
    assert catalog.chunks_of("r/a.pdf") == b and catalog.files()["r/a.pdf"].chunks == 2
    assert catalog.generation() == g0 + 2


def test_iter_chunks_rows_and_counts(catalog: Catalog) -> None:
    catalog.commit_files(
        [(_record("r/b.txt", 2), _chunks("r/b.txt", ["x", "y"])), (_record("r/a.txt", 1), _chunks("r/a.txt", ["z"]))]
    )
    assert list(catalog.iter_chunks()) == [
        ("r/a.txt#z", "z", "r/a.txt"),
        ("r/b.txt#x", "x", "r/b.txt"),
        ("r/b.txt#y", "y", "r/b.txt"),
    ]
    assert catalog.counts() == (2, 3)
    assert catalog.sources_of(["r/b.txt#y", "nope"]) == {"r/b.txt"}


def test_remove_touch_stale_and_roots(catalog: Catalog) -> None:
    catalog.commit_files(
        [
            (_record("r/a.txt", 1), _chunks("r/a.txt", ["a"])),
            (_record("q/b.txt", 1, root="/q"), _chunks("q/b.txt", ["b"])),
        ]
    )
    assert set(catalog.files(root="/q")) == {"q/b.txt"}
    catalog.touch_files([("r/a.txt", 123, 456)])
    rec = catalog.files()["r/a.txt"]
    assert (rec.size, rec.mtime_ns, rec.stale) == (123, 456, False)
    catalog.mark_stale(["r/a.txt"])
    assert catalog.files()["r/a.txt"].stale
    g = catalog.generation()
    assert catalog.remove_files(["r/a.txt"]) == {"r/a.txt#a"}
    assert catalog.generation() == g + 1 and set(catalog.files()) == {"q/b.txt"}
    assert catalog.remove_files([]) == set() and catalog.generation() == g + 1


def test_manifest_roundtrip_and_reset(catalog: Catalog) -> None:
    assert catalog.manifest() is None
    m = Manifest("all-minilm:latest", 384, None, 200, 30, "1", roots=("/r",))
    catalog.commit_files([(_record("r/a.txt", 1), _chunks("r/a.txt", ["a"]))], m)
    assert catalog.manifest() == m
    catalog.reset()
    assert catalog.manifest() is None and catalog.counts() == (0, 0)


def test_failed_transaction_changes_nothing(catalog: Catalog) -> None:
    catalog.commit_files([(_record("r/a.txt", 1), _chunks("r/a.txt", ["a"]))])
    g = catalog.generation()
    good = _chunks("r/b.txt", ["b"])[0]
    broken = Chunk(
        id="x",
        text=None,
        source="r/b.txt",
        ordinal=1,
        char_start=0,
        char_end=1,
        page_start=None,  # type: ignore[arg-type]
        page_end=None,
        heading_path=(),
        file_sha256="s",
    )
    with pytest.raises(StoreError):
        catalog.commit_files([(_record("r/b.txt", 2), [good, broken])])
    assert catalog.generation() == g and set(catalog.files()) == {"r/a.txt"}
    assert catalog.chunk_ids() == {"r/a.txt#a"}


def test_reader_sees_only_committed_state(tmp_path: Path, catalog: Catalog) -> None:
    catalog.commit_files([(_record("r/a.txt", 1), _chunks("r/a.txt", ["a"]))])
    reader = Catalog(catalog.path, create=False)
    raw = sqlite3.connect(catalog.path, isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("DELETE FROM chunks")
    assert reader.chunk_ids() == {"r/a.txt#a"}  # WAL: the open write transaction is invisible
    raw.execute("ROLLBACK")
    raw.close()
    reader.close()


def test_missing_catalog_for_readers(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="rag index"):
        Catalog(tmp_path / "none.catalog.sqlite", create=False, collection="none")
    assert not (tmp_path / "none.catalog.sqlite").exists()
