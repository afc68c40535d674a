"""The no-op fast path: after a completed run, a run with nothing to do neither imports chromadb nor lists Chroma's
ids; anything that may have changed Chroma since (a killed run, `rag remove`, a write from outside) takes the full
reconcile again."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import time
from pathlib import Path

from rag.index import clean_mark
from rag.store.catalog import Catalog
from rag.store.chroma import ChromaStore
from rag.store.layout import layout
from support.consistency import assert_consistent, assert_consistent_state, store_state
from support.corpus import make_docs, open_rag
from support.killing import index_cmd, run, start

# A no-op `rag index` in a fresh process, reporting whether chromadb was imported (the CLI as users run it).
_PROBE = (
    "import sys\n"
    "from rag.cli import cli\n"
    "try:\n"
    "    cli(sys.argv[1:], prog_name='rag')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "print('CHROMADB', 'chromadb' in sys.modules, code, file=sys.stderr)\n"
)


def _probe(docs: Path, idx: Path, cwd: Path) -> tuple[bool, dict]:
    cmd = [sys.executable, "-c", _PROBE, *index_cmd(docs, idx, "--json")[3:]]
    proc = run(cmd, cwd)
    line = [x for x in proc.stderr.splitlines() if x.startswith("CHROMADB ")][-1]
    _, imported, code = line.split()
    assert code in ("0", "None"), proc.stderr[-2000:]
    return imported == "True", json.loads(proc.stdout)


def _wait_for_request(ollama, proc) -> None:
    """Until the run's first embedding request reached the (holding) server, or the run ended."""
    deadline = time.monotonic() + 120
    while ollama.count("/api/embed") == 0:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the run never sent an embedding request"
        time.sleep(0.01)


def _lay(idx: Path):
    return layout(idx, None, "default")


def test_noop_after_a_completed_run_skips_chroma(ollama, tmp_path: Path) -> None:
    docs, idx = make_docs(tmp_path / "docs"), tmp_path / "idx"
    assert run(index_cmd(docs, idx), tmp_path).returncode == 0
    assert clean_mark.mark_path(_lay(idx)).is_file()
    imported, report = _probe(docs, idx, tmp_path)
    assert not imported, "a no-op run after a clean one opened Chroma"
    assert (report["added"], report["updated"], report["removed"], report["unchanged"]) == (0, 0, 0, 5)
    (docs / "doc1.txt").write_text("A changed file.\n", encoding="utf-8")
    imported, report = _probe(docs, idx, tmp_path)
    assert imported and report["updated"] == 1  # real work opens Chroma as before
    assert_consistent_state(store_state(idx))


def test_killed_run_leaves_no_mark_and_the_next_run_reconciles(ollama, tmp_path: Path) -> None:
    docs, idx = make_docs(tmp_path / "docs", n=4), tmp_path / "idx"
    assert run(index_cmd(docs, idx), tmp_path).returncode == 0
    for i in range(4):
        (docs / f"new{i}.txt").write_text(f"New file {i} about the harbour crane number {i}.\n", encoding="utf-8")
    ollama.reset()
    ollama.hold("/api/embed", after=0)  # the run stalls at its first embedding request, after planning
    proc = start(index_cmd(docs, idx), tmp_path)
    _wait_for_request(ollama, proc)
    assert not clean_mark.mark_path(_lay(idx)).exists(), "a run that may write Chroma kept the clean mark"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    ollama.release()
    # what a crash between a Chroma write and its catalog commit leaves: a vector the catalog does not know
    store = ChromaStore(idx, None, "default")
    with Catalog(_lay(idx).catalog, create=False) as cat:
        some = cat.chunks_of("docs/doc1.txt")[0]
    vector = store.get_vectors([some.id])[some.id]
    store.upsert([dataclasses.replace(some, id="orphan-of-the-killed-run")], [vector], ["text"])
    again = run(index_cmd(docs, idx, "--json"), tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads(again.stdout)
    assert report["orphans_removed"] == 1 and report["added"] == 4
    assert_consistent_state(store_state(idx))
    assert clean_mark.mark_path(_lay(idx)).is_file()


def test_a_write_to_chroma_from_outside_is_seen(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        ids = assert_consistent(rag)
        lay = _lay(rag.settings.index_dir)
        assert clean_mark.is_clean(lay, Catalog(lay.catalog, create=False))
        store = ChromaStore(lay.index_dir, None, "default")
        victim = sorted(ids)[0]
        vector = store.get_vectors([victim])[victim]
        store.delete([victim])
        store.upsert(
            [dataclasses.replace(Catalog(lay.catalog, create=False).get_chunks([victim])[victim], id="stranger")],
            [vector],
            ["text"],
        )  # the same count as before: only the write log tells
        assert not clean_mark.is_clean(lay, Catalog(lay.catalog, create=False))
        report = rag.index(docs)
        assert report.orphans_removed == 1 and report.files_repaired == 1
        assert assert_consistent(rag) == ids


def test_remove_drops_the_mark(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        lay = _lay(rag.settings.index_dir)
        assert clean_mark.mark_path(lay).is_file()
        rag.remove(docs / "doc1.txt")
        assert not clean_mark.mark_path(lay).exists()
        report = rag.index(docs)  # the full run puts the file back and marks the index clean again
        assert report.added == 1 and clean_mark.mark_path(lay).is_file()
        assert_consistent(rag)


def test_unreadable_or_stale_mark_means_reconcile(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        lay = _lay(rag.settings.index_dir)
        path = clean_mark.mark_path(lay)
        good = path.read_text(encoding="utf-8")
        with Catalog(lay.catalog, create=False) as cat:
            assert clean_mark.is_clean(lay, cat)
            path.write_text("{not json", encoding="utf-8")
            assert not clean_mark.is_clean(lay, cat)
            mark = json.loads(good)
            path.write_text(json.dumps({**mark, "generation": mark["generation"] - 1}), encoding="utf-8")
            assert not clean_mark.is_clean(lay, cat)
        path.write_text(good, encoding="utf-8")
        rag.index(docs)
        assert json.loads(path.read_text(encoding="utf-8")) == json.loads(good)  # a no-op run keeps it as it was
