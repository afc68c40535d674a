"""An embedded `--rebuild` builds beside the live index and switches in one step: questions asked during it are
answered from the whole old build, then the whole new one; a rebuild that fails or is killed leaves the old one."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from rag.store import generation
from rag.store.layout import catalog_names, layout
from support.consistency import assert_consistent_state, store_state
from support.corpus import make_docs, open_rag
from support.killing import index_cmd, run, start

NEEDLE = "The zebra crossing uses quartz semaphores."
QUESTION = "zebra quartz semaphores"
DEADLINE_S = 300  # every wait below has this deadline; none is a timing assertion


def _corpus(root: Path, n: int = 16) -> Path:
    docs = make_docs(root, n=n)
    (docs / "zz_needle.md").write_text(f"# Needle\n\n{NEEDLE}\n", encoding="utf-8")  # walked last: indexed last
    return docs


def test_questions_during_a_rebuild_always_find_the_document(ollama, tmp_path: Path) -> None:
    docs = _corpus(tmp_path / "lib")
    index = tmp_path / "idx"
    with open_rag(index) as writer:
        assert writer.index(docs).error is None
    ollama.latency = 0.02  # the rebuild's embedding calls take a while, so questions land inside it
    done = threading.Event()
    failures: list[str] = []
    answered = [0] * 4

    def ask(n: int) -> None:
        with open_rag(index, chat_model="none") as app:
            while not done.is_set() or answered[n] < 2:
                try:
                    answer = app.ask(QUESTION)
                except Exception as exc:  # every failure is the finding
                    failures.append(f"{type(exc).__name__}: {exc}")
                    return
                if not answer.citations or answer.citations[0].source != "lib/zz_needle.md":
                    failures.append(f"answered from {[c.source for c in answer.citations]}: {answer.answer!r}")
                    return
                answered[n] += 1

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        with open_rag(index) as writer:
            report = writer.index(docs, rebuild=True)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=DEADLINE_S)
    assert report.error is None and not report.warnings, report
    assert not failures, failures[0]
    assert all(answered), answered
    lay = layout(index, None, "default")
    assert lay.tag is not None and lay.physical == f"default.{lay.tag}"
    assert_consistent_state(store_state(index))


def test_a_question_caught_by_the_switch_is_asked_again_on_the_new_build(ollama, tmp_path: Path) -> None:
    """The reader resolves the old build, then waits on its query embedding while a whole rebuild (through a second
    server, so it is not held too) switches builds and deletes the old one: the answer comes whole from the new build
    (where the needle has moved to another file), not from a mix of the two."""
    from support.ollama_server import FakeOllama

    docs = _corpus(tmp_path / "lib", n=4)
    index = tmp_path / "idx"
    with open_rag(index) as writer:
        assert writer.index(docs).error is None
    with open_rag(index, chat_model="none") as reader:
        assert reader.ask(QUESTION).citations[0].source == "lib/zz_needle.md"  # warm: reader and store open
        ollama.hold("/api/embed", after=ollama.count("/api/embed"))
        result: list[object] = []
        asking = threading.Thread(target=lambda: result.append(reader.ask(f"{QUESTION} crossing")))  # not cached
        asking.start()
        try:
            deadline = time.monotonic() + DEADLINE_S
            while not any("crossing" in str(body) for body in ollama.bodies("/api/embed")):  # until it is held
                asking.join(timeout=0.05)
                assert asking.is_alive() and time.monotonic() < deadline, result
            (docs / "zz_needle.md").rename(docs / "zz_needle_moved.md")
            with FakeOllama() as other, open_rag(index, ollama_host=other.url) as writer:
                report = writer.index(docs, rebuild=True)
            assert report.error is None, report
        finally:
            ollama.release()
            asking.join(timeout=DEADLINE_S)
    answer = result[0]
    sources = {c.source for c in answer.citations}  # type: ignore[attr-defined]
    assert "lib/zz_needle_moved.md" in sources and "lib/zz_needle.md" not in sources, answer


def test_a_failed_rebuild_leaves_the_old_build_and_nothing_else(ollama, tmp_path: Path) -> None:
    docs = _corpus(tmp_path / "lib", n=4)
    index = tmp_path / "idx"
    with open_rag(index, chat_model="none") as rag:
        assert rag.index(docs).error is None
        before = store_state(index)
        ollama.fail_next(10_000, 500, ["/api/embed"])
        report = rag.index(docs, rebuild=True)
        ollama.reset()
        assert report.error is not None and any("rebuild not switched" in w for w in report.warnings), report
        after = store_state(index)
        assert after["catalog_ids"] == before["catalog_ids"] and after["physical"] == before["physical"]
        assert_consistent_state(after)
        answer = rag.ask(QUESTION)
        assert answer.citations[0].source == "lib/zz_needle.md"


def test_a_killed_rebuild_is_cleaned_up_by_the_next_run(ollama, tmp_path: Path) -> None:
    docs = _corpus(tmp_path / "lib", n=24)
    index = tmp_path / "idx"
    assert run(index_cmd(docs, index), tmp_path).returncode == 0
    before = store_state(index)
    ollama.latency = 0.05
    proc = start(index_cmd(docs, index, "--rebuild"), tmp_path)
    end = time.monotonic() + DEADLINE_S
    while not generation.stale_builds(index, "default"):  # the new build's catalog exists: it is under way
        assert proc.poll() is None, "the rebuild finished before it was killed: make the folder bigger"
        assert time.monotonic() < end, "the rebuild wrote nothing before the deadline"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    ollama.latency = 0.0
    killed = store_state(index)
    assert killed["physical"] == before["physical"] and killed["catalog_ids"] == before["catalog_ids"]
    assert killed["stale_builds"], "the killed build's files are still there until a writer cleans them"
    with open_rag(index, chat_model="none") as app:  # readers never see the half-built index
        assert app.ask(QUESTION).citations[0].source == "lib/zz_needle.md"
    rerun = run(index_cmd(docs, index), tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    final = store_state(index)
    assert_consistent_state(final)  # no stale files, one Chroma collection
    assert final["catalog_ids"] == before["catalog_ids"]


def test_a_long_lived_rag_moves_to_the_new_build_with_another_model(ollama, tmp_path: Path) -> None:
    docs = _corpus(tmp_path / "lib", n=3)
    index = tmp_path / "idx"
    with open_rag(index, chat_model="none") as app:
        with open_rag(index) as writer:
            assert writer.index(docs).error is None
        assert app.ask(QUESTION).citations[0].source == "lib/zz_needle.md"
        with open_rag(index, embed_model="nomic-embed-text") as writer:
            assert writer.index(docs, rebuild=True).error is None
        answer = app.ask(QUESTION)
        assert answer.citations[0].source == "lib/zz_needle.md"
        assert any(h.dense_score is not None for h in answer.hits)  # the dense leg works with the new model
        assert app.status().collections[0].model == "nomic-embed-text:latest"
    assert ollama.bodies("/api/embed")[-1]["model"].startswith("nomic-embed-text")


def test_pointer_names_the_build_and_listings_see_through_it(tmp_path: Path) -> None:
    assert layout(tmp_path, None, "notes").catalog == tmp_path / "notes.catalog.sqlite"
    (tmp_path / "notes.catalog.sqlite").touch()
    (tmp_path / "notes@b7.catalog.sqlite").touch()  # a rebuild under way
    assert generation.stale_builds(tmp_path, "notes") == ["b7"]
    generation.switch(tmp_path, "notes", "b7")
    lay = layout(tmp_path, None, "notes")
    assert (lay.catalog, lay.bm25, lay.physical) == (
        tmp_path / "notes@b7.catalog.sqlite",
        tmp_path / "notes@b7.bm25",
        "notes.b7",
    )
    assert layout(tmp_path, None, "notes", None).catalog == tmp_path / "notes.catalog.sqlite"
    assert generation.stale_builds(tmp_path, "notes") == [None]  # the plain build is the old one now
    generation.delete_files(tmp_path, "notes", None)
    assert generation.stale_builds(tmp_path, "notes") == []
    assert catalog_names(tmp_path) == ["notes"]  # listed once, by its pointer; "notes@b7" is no collection
    (tmp_path / "notes.current").write_text("../../etc\n", encoding="utf-8")  # a damaged pointer is ignored
    assert layout(tmp_path, None, "notes").tag is None
