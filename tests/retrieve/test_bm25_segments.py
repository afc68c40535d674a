"""rag.retrieve.bm25 segments: incremental updates equal a fresh build, a no-op check reads the header, damage is
repaired."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.chunking import Chunk
from rag.retrieve import bm25
from rag.retrieve.text import index_text
from rag.store.catalog import Catalog, FileRecord

QUERIES = ["embed vectors", "chat streaming timings", "pull models", "向量 嵌入", "zebra giraffe", "guide install"]


def _commit(catalog: Catalog, source: str, texts: list[str], heading: tuple[str, ...] = ("Guide",)) -> None:
    chunks, pos = [], 0
    for n, text in enumerate(texts):
        chunks.append(
            Chunk(
                id=f"{source}#{n}:{hash(text) & 0xFFFF}",
                text=text,
                source=source,
                ordinal=n,
                char_start=pos,
                char_end=pos + len(text),
                page_start=None,
                page_end=None,
                heading_path=heading,
                file_sha256=str(hash(tuple(texts)) & 0xFFFFFFFF),
            )
        )
        pos += len(text) + 1
    record = FileRecord(
        source=source,
        root="/docs",
        size=pos,
        mtime_ns=0,
        sha256=chunks[0].file_sha256,
        kind="markdown",
        chunks=len(chunks),
    )
    catalog.commit_files([(record, chunks)])


def _fresh(catalog: Catalog) -> bm25.BM25Index:
    rows = [
        (c.id, index_text(c.text, c.heading_path) if bm25.HEADINGS else c.text, c.source)
        for source in sorted(catalog.files())
        for c in catalog.chunks_of(source)
    ]
    return bm25.build(rows, catalog.generation())


def _same_results(a: bm25.BM25Index, b: bm25.BM25Index) -> None:
    for q in QUERIES:  # every positive score (ties may order differently: document numbers differ)
        got, want = dict(a.search(q, 1000)), dict(b.search(q, 1000))
        assert got.keys() == want.keys(), q
        assert [got[c] for c in sorted(got)] == pytest.approx([want[c] for c in sorted(want)], rel=1e-5), q


@pytest.fixture
def catalog(tmp_path: Path):
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        _commit(cat, "docs/api.md", ["The embed endpoint returns vectors.", "Chat streams messages with timings."])
        _commit(cat, "docs/models.md", ["Models are pulled with ollama pull.", "Tags list the models."])
        _commit(cat, "docs/zh.md", ["向量数据库保存嵌入向量。"], heading=("指南",))
        for n in range(20):  # unchanged files, so a few changes stay under the merge threshold
            _commit(cat, f"docs/filler{n:02}.md", [f"Filler page {n} about install steps.", f"More words {n}."])
        yield cat


def test_changing_one_file_adds_one_segment_and_scores_like_a_fresh_build(catalog: Catalog, tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    first = bm25.load_or_build(catalog, stem)
    assert len(first.segments) == 1 and len(first) == 45
    _commit(catalog, "docs/api.md", ["The embed endpoint returns a zebra of vectors.", "Streaming chat."])
    _commit(catalog, "docs/new.md", ["A giraffe guide to install."], heading=("Install",))
    catalog.remove_files(["docs/zh.md"])
    updated = bm25.load_or_build(catalog, stem)
    assert len(updated.segments) == 2, "the unchanged files' segment is kept; the changed ones get a new segment"
    assert len(updated) == 45 and sorted(updated.live_ids()) == sorted(c for c, _, _ in catalog.iter_chunks())
    _same_results(updated, _fresh(catalog))
    reloaded = bm25.load(stem)
    assert reloaded is not None and reloaded.generation == catalog.generation()
    _same_results(reloaded, _fresh(catalog))
    assert updated.search("嵌入", 5) == [], "the removed file's chunks are gone"


def test_many_deletions_merge_back_into_one_segment(catalog: Catalog, tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    bm25.load_or_build(catalog, stem)
    for n in range(6):
        _commit(catalog, f"docs/filler{n:02}.md", [f"Embed revision {n} returns vectors.", f"Chat revision {n}."])
        index = bm25.load_or_build(catalog, stem)
        _same_results(index, _fresh(catalog))
    assert len(index.segments) == 1 and not len(index.dead), "dead documents past the threshold trigger a merge"
    assert len(list(tmp_path.glob("c.bm25.seg-*.npz"))) == 1, "replaced segment files are removed"


def test_no_op_refresh_reads_only_the_header(catalog: Catalog, tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    assert bm25.refresh(catalog, stem) is True
    (seg,) = tmp_path.glob("c.bm25.seg-*.npz")
    size = seg.stat().st_size
    seg.write_bytes(b"\0" * size)  # garbled in place, same size: only a full read would notice
    assert bm25.refresh(catalog, stem) is False, "current generation and sizes: nothing re-read"
    assert bm25.load(stem) is None, "a full load does notice"


@pytest.mark.parametrize("damage", ["truncate_segment", "garble_header", "delete_segment", "truncate_files"])
def test_damaged_side_index_is_rebuilt_with_a_warning(catalog: Catalog, tmp_path: Path, damage: str) -> None:
    stem = tmp_path / "c.bm25"
    bm25.load_or_build(catalog, stem)
    (seg,) = tmp_path.glob("c.bm25.seg-*.npz")
    if damage == "truncate_segment":
        seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])
    elif damage == "garble_header":
        (tmp_path / "c.bm25.json").write_text('{"format": 2, "gener', encoding="utf-8")
    elif damage == "delete_segment":
        seg.unlink()
    else:
        (files,) = tmp_path.glob("c.bm25.files-*.json")
        files.write_text("{", encoding="utf-8")
    warnings: list[str] = []
    assert bm25.refresh(catalog, stem, warn=warnings.append) is (damage != "truncate_files")
    if damage != "truncate_files":
        assert len(warnings) == 1 and "unreadable" in warnings[0] and "rebuilt" in warnings[0]
    repaired = bm25.load(stem)
    assert repaired is not None
    _same_results(repaired, _fresh(catalog))


def test_damaged_files_map_only_costs_a_full_rebuild_on_the_next_change(catalog: Catalog, tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    bm25.load_or_build(catalog, stem)
    (files,) = tmp_path.glob("c.bm25.files-*.json")
    files.write_text("[1, 2", encoding="utf-8")
    _commit(catalog, "docs/models.md", ["Models are listed with tags."])
    index = bm25.load_or_build(catalog, stem)
    assert len(index.segments) == 1
    _same_results(index, _fresh(catalog))


def test_an_update_does_not_read_the_existing_segments(catalog: Catalog, tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    bm25.refresh(catalog, stem)
    (old,) = tmp_path.glob("c.bm25.seg-*.npz")
    saved = old.read_bytes()
    old.write_bytes(b"\0" * len(saved))  # unreadable, same size: an update that read it would fail
    _commit(catalog, "docs/models.md", ["Models are listed with tags."])
    assert bm25.refresh(catalog, stem) is True
    header = bm25.read_header(stem)
    assert header is not None and len(header["segments"]) == 2 and header["generation"] == catalog.generation()
    old.write_bytes(saved)
    index = bm25.load(stem)
    assert index is not None
    _same_results(index, _fresh(catalog))


def test_an_index_of_another_format_is_rebuilt_without_a_warning(catalog: Catalog, tmp_path: Path) -> None:
    stem = tmp_path / "c.bm25"
    (tmp_path / "c.bm25.json").write_text('{"format": 1, "generation": 1, "ids": []}', encoding="utf-8")
    warnings: list[str] = []
    index = bm25.load_or_build(catalog, stem, warn=warnings.append)
    assert warnings == [] and len(index) == 45


def test_weights_worked_out_in_small_blocks_score_exactly_as_in_one(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stem = tmp_path / "c.bm25"
    bm25.load_or_build(catalog, stem)
    _commit(catalog, "docs/api.md", ["The embed endpoint returns a zebra of vectors.", "Streaming chat."])
    bm25.load_or_build(catalog, stem)  # two segments and dead documents: every branch of the weighing
    whole = bm25.load(stem)
    monkeypatch.setattr(bm25, "WEIGHT_BLOCK", 3)  # blocks that start and end inside terms' postings
    blocks = bm25.load(stem)
    assert whole is not None and blocks is not None and len(whole.dead)
    for q in QUERIES:
        assert blocks.search(q, 1000) == whole.search(q, 1000), q  # the same floats, not just close ones


def test_a_loaded_index_keeps_weights_not_frequencies_and_shares_its_source_names(
    catalog: Catalog, tmp_path: Path
) -> None:
    stem = tmp_path / "c.bm25"
    built = bm25.load_or_build(catalog, stem)
    loaded = bm25.load(stem)
    assert loaded is not None and all(len(s.tf) == 0 for s in loaded.segments)
    assert all(s.tf.dtype == "uint16" and len(s.tf) == len(s.doc) for s in built.segments)
    assert loaded.sources[0] is loaded.sources[1]  # one str per file (docs/api.md has two chunks)
    _same_results(loaded, built)
    with pytest.raises(ValueError, match="fresh build"):
        bm25.save(loaded, tmp_path / "elsewhere.bm25")


def test_a_term_repeated_past_the_stored_range_saturates() -> None:
    index = bm25.build([("a", "zebra " * 70_000, "s"), ("b", "zebra giraffe", "s")])
    (seg,) = index.segments
    assert int(seg.tf.max()) == bm25.TF_MAX
    scores = dict(index.search("zebra", 2))
    assert scores.keys() == {"a", "b"} and all(0 < v < bm25.K1 + 1 for v in scores.values())  # BM25's tf ceiling
