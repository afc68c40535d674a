"""The indexer end to end: real Chroma in a temp dir, embeddings from the fake Ollama over real sockets."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag import IndexReport, ManifestMismatch
from rag.store.catalog import Catalog
from rag.store.chroma import ChromaStore
from rag.store.layout import layout
from support.consistency import assert_consistent, stored_ids, texts_embedded
from support.corpus import make_docs, open_rag, paragraphs_text
from support.ollama_server import count_tokens


def clean_ids(docs: Path, tmp_path: Path, **kw) -> set[str]:
    """Chunk ids of a fresh index of the folder as it is now."""
    fresh = tmp_path / f"clean{len(list(tmp_path.iterdir()))}"
    with open_rag(fresh, **kw) as rag:
        rag.index(docs)
        return assert_consistent(rag)


def test_first_run_then_unchanged_rerun_embeds_nothing(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs")
    with open_rag(tmp_path / "idx") as rag:
        first = rag.index(docs)
        assert isinstance(first, IndexReport)
        assert (first.added, first.updated, first.removed, first.skipped) == (5, 0, 0, 0)
        ids = assert_consistent(rag)
        assert first.chunks_added == len(ids) > 5 and first.exit_code == 0
        embedded = sum(len(b["input"]) for b in ollama.bodies("/api/embed"))
        assert embedded == texts_embedded(rag, ids)  # each chunk (and its sentences) embedded exactly once
        assert all(b.get("truncate") is False for b in ollama.bodies("/api/embed"))
        ollama.reset()
        again = rag.index(docs)
        assert (again.added, again.updated, again.unchanged, again.chunks_added) == (0, 0, 5, 0)
        assert ollama.count("/api/embed") == 0
        assert assert_consistent(rag) == ids


def test_touch_without_change_embeds_nothing(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs")
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        target = docs / "doc1.txt"
        st = target.stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        ollama.reset()
        report = rag.index(docs)
        assert report.unchanged == 5 and report.updated == 0 and ollama.count("/api/embed") == 0
        lay = layout(rag.settings.index_dir, None, "default")
        with Catalog(lay.catalog, create=False) as cat:
            assert cat.files()["docs/doc1.txt"].mtime_ns == target.stat().st_mtime_ns  # fast path next time


def test_modify_delete_rename_end_equal_to_clean_run(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=6)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        before = assert_consistent(rag)
        (docs / "doc2.md").write_text("# Changed\n\n" + paragraphs_text(40), encoding="utf-8")
        (docs / "doc3.txt").unlink()
        (docs / "doc5.txt").rename(docs / "sub" / "moved.txt")
        (docs / "new.md").write_text(paragraphs_text(41), encoding="utf-8")
        ollama.reset()
        report = rag.index(docs)
        by_status = {o.source: o.status for o in report.files}
        assert by_status == {
            "docs/doc2.md": "updated",
            "docs/doc3.txt": "removed",
            "docs/doc5.txt": "removed",
            "docs/sub/moved.txt": "added",
            "docs/new.md": "added",
        }
        assert report.unchanged == 3
        after = assert_consistent(rag)
        assert not any(cid in after for cid in before if cid not in after)  # nothing stale survives
        lay = layout(rag.settings.index_dir, None, "default")
        with Catalog(lay.catalog, create=False) as cat:
            changed = {c.id for s in ("docs/doc2.md", "docs/sub/moved.txt", "docs/new.md") for c in cat.chunks_of(s)}
            assert not any(c.startswith("docs/doc3") for c in cat.files())
        assert sum(len(b["input"]) for b in ollama.bodies("/api/embed")) == texts_embedded(rag, changed)
    assert after == clean_ids(docs, tmp_path)


def test_model_switch_is_refused_until_rebuild(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        old = assert_consistent(rag)
    with open_rag(tmp_path / "idx", embed_model="nomic-embed-text") as rag:
        with pytest.raises(ManifestMismatch) as err:
            rag.index(docs)
        assert "all-minilm:latest" in str(err.value) and "nomic-embed-text:latest" in str(err.value)
        assert "--rebuild" in str(err.value)
        assert stored_ids(rag)[0] == old  # nothing was touched
        report = rag.index(docs, rebuild=True)
        assert report.added == 2 and report.embed_model == "nomic-embed-text:latest"
        assert rag.status().collections[0].dimension == 768
        assert assert_consistent(rag) == old  # same chunker: same ids, new vectors
    with open_rag(tmp_path / "idx") as rag:  # no model given: follows the manifest, no mismatch
        assert rag.index(docs).unchanged == 2
    with open_rag(tmp_path / "idx", embed_model="all-minilm") as rag:  # the default, but asked for explicitly
        with pytest.raises(ManifestMismatch):
            rag.index(docs)


def test_chunk_too_long_for_the_model_is_split_and_retried(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    unsplit = clean_ids(docs, tmp_path, chunk_tokens=120, chunk_overlap=0)
    ollama.reset()
    ollama.embed_context_length = 25  # the model now refuses most chunks
    with open_rag(tmp_path / "idx", chunk_tokens=120, chunk_overlap=0) as rag:
        report = rag.index(docs)
        assert report.added == 2 and report.skipped == 0
        ids = assert_consistent(rag)
        lay = layout(rag.settings.index_dir, None, "default")
        with Catalog(lay.catalog, create=False) as cat:
            chunks = list(cat.get_chunks(ids).values())
            for source in ("docs/doc1.txt", "docs/sub/doc0.md"):
                ordinals = [c.ordinal for c in cat.chunks_of(source)]
                assert ordinals == list(range(len(ordinals)))
    assert all(count_tokens(c.text) <= 25 for c in chunks)  # every stored vector saw its whole text
    assert all(b.get("truncate") is False for b in ollama.bodies("/api/embed"))
    assert len(ids) > len(unsplit)
    assert clean_ids(docs, tmp_path, chunk_tokens=120, chunk_overlap=0) == ids  # deterministic splitting


def test_reconcile_removes_orphans_and_reembeds_lost_vectors(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        ids = assert_consistent(rag)
        lay = layout(rag.settings.index_dir, None, "default")
        store = ChromaStore(lay.index_dir, None, "default")
        with Catalog(lay.catalog, create=False) as cat:
            victim = cat.chunks_of("docs/doc1.txt")[0]
            orphan = cat.chunks_of("docs/doc2.md")[0]
        vec = store.get_vectors([orphan.id])[orphan.id]
        import dataclasses

        store.upsert([dataclasses.replace(orphan, id="orphan-left-by-a-crash")], [vec], ["markdown"])
        store.delete([victim.id])  # a vector lost (e.g. a crash before Chroma persisted it)
        ollama.reset()
        report = rag.index(docs)
        assert report.orphans_removed == 1 and report.files_repaired == 1
        assert {o.source: o.status for o in report.files} == {"docs/doc1.txt": "updated"}
        assert assert_consistent(rag) == ids


def test_dry_run_writes_nothing_and_needs_no_ollama(tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    with open_rag(tmp_path / "idx") as rag:  # OLLAMA_HOST points at a closed port
        report = rag.index(docs, dry_run=True)
    assert report.dry_run and report.added == 3 and report.chunks_added == 0
    assert not (tmp_path / "idx" / "default.catalog.sqlite").exists()


def test_remove_file_and_folder_then_status(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=5)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        one = rag.remove(docs / "doc1.txt")
        assert one.files == ["docs/doc1.txt"] and one.chunks_removed > 0
        sub = rag.remove("docs/sub")  # a source prefix works too
        assert sub.files == ["docs/sub/doc0.md"]
        ids = assert_consistent(rag)
        status = rag.status()
        (col,) = status.collections
        assert (col.name, col.files, col.chunks, col.vectors) == ("default", 3, len(ids), len(ids))
        assert col.model == "all-minilm:latest" and col.dimension == 384 and col.roots == [str(docs.resolve())]
        assert status.index_dir == str(tmp_path / "idx") and status.chroma_path == str(tmp_path / "idx" / "chroma")
        from rag.errors import IngestError

        with pytest.raises(IngestError, match="nothing in the index"):
            rag.remove(docs / "doc1.txt")
        report = rag.index(docs)  # the removed files are still on disk: a sync brings them back
        assert report.added == 2


def test_skips_are_reported_with_reasons(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    (docs / "big.txt").write_text("word " * 5000, encoding="utf-8")
    (docs / "empty.md").write_bytes(b"")
    with open_rag(tmp_path / "idx", max_file_bytes=10_000) as rag:
        report = rag.index(docs)
    reasons = {o.source: o.reason for o in report.files if o.status == "skipped"}
    assert "docs/big.txt" in reasons and reasons["docs/big.txt"]
    assert all(reasons.values())
    assert report.added == 3 and report.skipped == len(reasons) and report.exit_code == 1


def test_deleting_every_file_empties_the_collection(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        shutil.rmtree(docs)
        docs.mkdir()
        report = rag.index(docs)
        assert report.removed == 2 and report.exit_code == 0
        assert stored_ids(rag) == (set(), set())


def test_progress_events(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=4)
    events = []
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs, progress=events.append)
    kinds = [e.event for e in events]
    assert kinds[0] == "start" and events[0].files_total == 4 and kinds.count("file") == 4
    assert [e.files_done for e in events[1:]] == [1, 2, 3, 4]
    assert events[-1].chunks == sum(e.outcome.chunks for e in events[1:])


def test_builtin_backend_needs_no_ollama(tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    with open_rag(tmp_path / "idx", embed_backend="builtin") as rag:
        report = rag.index(docs)
        assert report.added == 2 and report.error is None
        assert_consistent(rag)
        assert rag.status().collections[0].backend == "builtin"
