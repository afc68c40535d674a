"""One index, many machines: a real `chroma run` server, writers with their own index folders, readers
with empty ones."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest

from rag import RAG
from rag.errors import StoreError
from rag.store.chroma import ChromaStore
from rag.store.chroma_errors import CollectionMissing
from rag.store.ownership import WriterConflict
from support.adversarial import text_pdf
from support.corpus import make_docs, open_rag
from support.killing import expected_ids, make_folder, run, start

pytestmark = pytest.mark.chroma_server


def _ids_by_writer(url: str, collection: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    try:
        store = ChromaStore(Path("/nonexistent"), url, collection, create=False)
    except CollectionMissing:
        return out
    with store:
        for page in store.iter_rows():
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                out.setdefault(str(meta.get("writer")), set()).add(cid)
    return out


def _reader(tmp: Path, url: str, collection: str, name: str = "reader") -> RAG:
    return RAG(tmp / name, chroma_url=url, collection=collection, chat_model="none", embed_backend="ollama")


def test_reader_with_an_empty_folder_answers_with_citations_and_pages(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "manuals", n=3)
    text_pdf(docs / "pump.pdf", ["Introduction to the pump.", "The impeller spins at 3000 rpm under quartz load."])
    with open_rag(tmp_path / "writer", chroma_url=chroma_url, collection="mm-reader") as writer:
        assert writer.index(docs).error is None
    with _reader(tmp_path, chroma_url, "mm-reader") as reader:
        answer = reader.ask("How fast does the impeller spin?", mode="bm25")
        assert answer.citations, answer
        cited = answer.citations[0]
        assert cited.source == "manuals/pump.pdf" and (cited.page_start, cited.page_end) == (1, 2)
        hybrid = reader.ask("impeller quartz load rpm")
        assert any(h.dense_score is not None for h in hybrid.hits)
        col = next(c for c in reader.status().collections if c.name == "mm-reader")
        assert col.files == 4 and col.chunks == col.vectors and col.model == "all-minilm:latest"
        assert col.store_error is None
    assert not list((tmp_path / "reader").rglob("*.catalog.sqlite"))  # it read the server, not a catalog


def test_a_reader_updates_its_bm25_by_file_after_a_write(ollama, chroma_url, tmp_path) -> None:
    from rag.config import Settings
    from rag.retrieve.bm25 import read_header
    from rag.store import open_index

    docs = make_docs(tmp_path / "lib", n=6)
    with open_rag(tmp_path / "writer", chroma_url=chroma_url, collection="mm-bm25") as writer:
        assert writer.index(docs).error is None
        with _reader(tmp_path, chroma_url, "mm-bm25") as reader:
            assert reader.ask("paragraph of document", mode="bm25").citations
            stem = open_index(
                Settings.resolve(index_dir=tmp_path / "reader", chroma_url=chroma_url, collection="mm-bm25")
            ).reader_bm25
            first = read_header(stem)
            assert first is not None
            (docs / "doc3.txt").write_text("The xylophone tuner calibrates bronze bars.", encoding="utf-8")
            assert writer.index(docs).error is None
            answer = reader.ask("xylophone bronze bars", mode="bm25")
            assert answer.citations and answer.citations[0].source == "lib/doc3.txt"
            after = read_header(stem)
            assert after is not None and after["generation"] != first["generation"]
            old_tags = [seg["tag"] for seg in first["segments"]]
            tags = [seg["tag"] for seg in after["segments"]]
            assert tags[: len(old_tags)] == old_tags and len(tags) == len(old_tags) + 1  # one new segment, no rebuild
            assert after["dead"], "the changed file's old chunks are marked dead"


def test_two_writers_keep_each_others_chunks_across_runs_and_removes(ollama, chroma_url, tmp_path) -> None:
    a_docs = make_docs(tmp_path / "alpha", n=3)
    b_docs = make_docs(tmp_path / "beta", n=4)
    a = open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="mm-two")
    b = open_rag(tmp_path / "wb", chroma_url=chroma_url, collection="mm-two")
    with a, b:
        assert a.index(a_docs).added == 3
        first = _ids_by_writer(chroma_url, "mm-two")
        report = b.index(b_docs)
        assert report.added == 4 and report.orphans_removed == 0
        both = _ids_by_writer(chroma_url, "mm-two")
        assert len(both) == 2 and next(iter(first.values())) in both.values()
        again = a.index(a_docs)  # before ownership, this run deleted all of B's vectors as orphans
        assert again.orphans_removed == 0 and again.unchanged == 3
        assert _ids_by_writer(chroma_url, "mm-two") == both
        live = _reader(tmp_path, chroma_url, "mm-two", "live")  # follows both writers' changes incrementally
        assert {h.source for h in live.retrieve("paragraph document", k=50, mode="bm25")} >= {"beta/doc1.txt"}
        (b_docs / "doc1.txt").unlink()
        b.index(b_docs)
        a.remove(a_docs / "doc2.md")
        (b_docs / "new.md").write_text("# New\n\nThe okapi grazes near the quartz fountain.\n", encoding="utf-8")
        b.index(b_docs)
        with live:
            seen = {h.source for h in live.retrieve("paragraph document okapi", k=50, mode="bm25")}
            assert "beta/new.md" in seen and not {"beta/doc1.txt", "alpha/doc2.md"} & seen
        after = _ids_by_writer(chroma_url, "mm-two")
        assert sum(len(v) for v in after.values()) < sum(len(v) for v in both.values())
        with _reader(tmp_path, chroma_url, "mm-two") as reader:
            sources = {h.source.split("/")[0] for h in reader.retrieve("paragraph document", k=50, mode="bm25")}
            assert sources == {"alpha", "beta"}


def test_the_same_folder_from_two_writers_is_refused_unless_taken_over(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "shared", n=3)
    with open_rag(tmp_path / "w1", chroma_url=chroma_url, collection="mm-same") as w1:
        w1.index(docs)
    before = _ids_by_writer(chroma_url, "mm-same")
    with open_rag(tmp_path / "w2", chroma_url=chroma_url, collection="mm-same") as w2:
        with pytest.raises(WriterConflict) as err:
            w2.index(docs)
        message = str(err.value)
        assert "--take-over" in message and str(tmp_path / "w1") in message and "'shared'" in message
        assert _ids_by_writer(chroma_url, "mm-same") == before  # nothing was touched
        report = w2.index(docs, take_over=True)
        assert report.added == 3
    owners = _ids_by_writer(chroma_url, "mm-same")
    assert len(owners) == 1 and list(owners.values()) == list(before.values()) and owners.keys() != before.keys()
    with open_rag(tmp_path / "w1", chroma_url=chroma_url, collection="mm-same") as w1:
        with pytest.raises(WriterConflict):
            w1.index(docs)  # the old owner is now the one refused


def test_a_writer_killed_mid_run_never_costs_the_other_writer_anything(ollama, chroma_url, tmp_path) -> None:
    a_docs = make_docs(tmp_path / "steady", n=3)
    default_chunks = {"chunk_tokens": 200, "chunk_overlap": 30}  # what the `rag index` subprocess uses
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="mm-kill", **default_chunks) as a:
        a.index(a_docs)
    a_ids = _ids_by_writer(chroma_url, "mm-kill")
    docs = tmp_path / "busy"
    make_folder(docs)
    ollama.latency = 0.05
    cmd = [
        "python",
        "-m",
        "rag",
        "index",
        str(docs),
        "--index",
        str(tmp_path / "wb"),
        "--chroma-url",
        chroma_url,
        "--collection",
        "mm-kill",
        "--embed-backend",
        "ollama",
        "--json",
    ]
    proc = start(cmd, tmp_path)
    _wait_for_writes(chroma_url, "mm-kill", a_ids, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    ollama.latency = 0.0
    owners = _ids_by_writer(chroma_url, "mm-kill")
    assert {k: v for k, v in owners.items() if k in a_ids} == a_ids
    rerun = run(cmd, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert json.loads(rerun.stdout)["error"] is None
    owners = _ids_by_writer(chroma_url, "mm-kill")
    b_ids = next(v for k, v in owners.items() if k not in a_ids)
    assert b_ids == expected_ids(docs)
    assert {k: v for k, v in owners.items() if k in a_ids} == a_ids
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="mm-kill", **default_chunks) as a:
        assert a.index(a_docs).orphans_removed == 0
    assert _ids_by_writer(chroma_url, "mm-kill") == owners


def _wait_for_writes(url: str, collection: str, before: dict[str, set[str]], proc, deadline_s: float = 120) -> None:
    """Until the second writer has stored some chunks (a condition, with a deadline; no timed race)."""
    import time

    end = time.monotonic() + deadline_s
    while len(_ids_by_writer(url, collection)) <= len(before):
        assert proc.poll() is None, "the writer finished before it was killed: make its folder bigger"
        assert time.monotonic() < end, "the writer stored nothing before the deadline"
        time.sleep(0.05)


def test_rebuild_while_four_threads_ask_fails_no_question(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "corpus", n=12)
    with open_rag(tmp_path / "w", chroma_url=chroma_url, collection="mm-rebuild") as writer:
        writer.index(docs)
        done = threading.Event()
        failures: list[BaseException] = []
        answered = [0] * 4

        def ask(n: int) -> None:
            with _reader(tmp_path, chroma_url, "mm-rebuild", f"reader{n}") as reader:
                while not done.is_set() or answered[n] < 3:
                    try:
                        answer = reader.ask("paragraph of document river mountain")
                        assert answer.citations, answer
                        answered[n] += 1
                    except BaseException as exc:  # every failure is the finding
                        failures.append(exc)
                        return

        threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        try:
            report = writer.index(docs, rebuild=True)
        finally:
            done.set()
            for t in threads:
                t.join(timeout=300)
        assert report.error is None
        assert not failures, failures[0]
        assert all(answered)
        with ChromaStore(tmp_path, chroma_url, "mm-rebuild", create=False) as store:
            assert store.physical != "mm-rebuild" and store.physical_names() == [store.physical]


@pytest.mark.parametrize("server", [True, False], ids=["server", "embedded"])
def test_a_long_lived_rag_survives_another_process_rebuild(ollama, chroma_url, tmp_path, server) -> None:
    docs = make_docs(tmp_path / "lib", n=4)
    (docs / "needle.md").write_text("# Needle\n\nThe zebra crossing uses quartz semaphores.\n", encoding="utf-8")
    url = ["--chroma-url", chroma_url] if server else []
    cmd = [
        "python",
        "-m",
        "rag",
        "index",
        str(docs),
        "--index",
        str(tmp_path / "w"),
        "--collection",
        "mm-live",
        "--embed-backend",
        "ollama",
        *url,
    ]
    assert run(cmd, tmp_path).returncode == 0
    folder = tmp_path / ("app" if server else "w")
    with RAG(
        folder,
        chroma_url=chroma_url if server else None,
        collection="mm-live",
        chat_model="none",
        embed_backend="ollama",
    ) as app:
        assert app.ask("zebra quartz semaphores").citations[0].source == "lib/needle.md"
        rebuilt = run([*cmd, "--rebuild"], tmp_path)
        assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
        for _ in range(2):
            answer = app.ask("zebra quartz semaphores")
            assert answer.citations and answer.citations[0].source == "lib/needle.md"
            assert any(h.dense_score is not None for h in answer.hits)


def test_a_reader_says_the_server_is_down_or_answers_from_its_copy(ollama, tmp_path) -> None:
    from support.chroma_server import ChromaServer, chroma_cli

    if chroma_cli() is None:
        pytest.skip("the `chroma` CLI is not installed")
    docs = make_docs(tmp_path / "notes", n=3)
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        with open_rag(tmp_path / "w", chroma_url=server.url, collection="mm-down") as writer:
            writer.index(docs)
        with _reader(tmp_path, server.url, "mm-down") as reader:
            assert reader.ask("paragraph of document").citations
        server.stop()
        with _reader(tmp_path, server.url, "mm-down") as reader:  # a cached copy: keyword-only, with a warning
            answer = reader.ask("paragraph of document")
            assert answer.citations and all(h.dense_score is None for h in answer.hits)
            assert any(server.url in w and "keyword" in w.lower() or "BM25" in w for w in answer.warnings)
        with _reader(tmp_path, server.url, "mm-down", "fresh") as fresh:  # no copy: a clear error with the fix
            with pytest.raises(StoreError, match="chroma run"):
                fresh.ask("paragraph")
            col = next(c for c in fresh.status().collections if c.name == "mm-down")
            assert col.vectors is None and col.store_error and server.url in col.store_error
        shown = run(
            [
                "python",
                "-m",
                "rag",
                "status",
                "--index",
                str(tmp_path / "fresh"),
                "--chroma-url",
                server.url,
                "--collection",
                "mm-down",
            ],
            tmp_path,
        )
        assert "None vectors" not in shown.stdout and "Cannot reach the Chroma server" in shown.stdout, shown
    finally:
        server.stop()


def test_server_killed_and_restarted_mid_index_then_rerun_equals_a_clean_run(ollama, tmp_path) -> None:
    from support.chroma_server import ChromaServer, chroma_cli

    if chroma_cli() is None:
        pytest.skip("the `chroma` CLI is not installed")
    docs = tmp_path / "big"
    make_folder(docs)
    server = ChromaServer(tmp_path / "chroma").start()
    try:
        cmd = [
            "python",
            "-m",
            "rag",
            "index",
            str(docs),
            "--index",
            str(tmp_path / "w"),
            "--chroma-url",
            server.url,
            "--collection",
            "mm-restart",
            "--embed-backend",
            "ollama",
            "--json",
        ]
        ollama.latency = 0.05
        proc = start(cmd, tmp_path)
        _wait_for_writes(server.url, "mm-restart", {}, proc)
        server.stop()
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode != 0 or json.loads(out or "{}").get("error")  # the run saw the server go away
        ollama.latency = 0.0
        server.start()
        rerun = run(cmd, tmp_path)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        owners = _ids_by_writer(server.url, "mm-restart")
        assert len(owners) == 1 and next(iter(owners.values())) == expected_ids(docs)
    finally:
        server.stop()


def test_a_writer_indexing_during_another_writers_rebuild_keeps_every_chunk(ollama, chroma_url, tmp_path) -> None:
    default_chunks = {"chunk_tokens": 200, "chunk_overlap": 30}  # what the `rag index` subprocess uses
    a_docs = make_docs(tmp_path / "first", n=6)
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="mm-during", **default_chunks) as a:
        a.index(a_docs)
        docs = tmp_path / "second"
        make_folder(docs)
        cmd = [
            "python",
            "-m",
            "rag",
            "index",
            str(docs),
            "--index",
            str(tmp_path / "wb"),
            "--chroma-url",
            chroma_url,
            "--collection",
            "mm-during",
            "--embed-backend",
            "ollama",
            "--json",
        ]
        ollama.latency = 0.02
        proc = start(cmd, tmp_path)
        _wait_for_writes(chroma_url, "mm-during", _ids_by_writer(chroma_url, "mm-during"), proc)
        report = a.index(a_docs, rebuild=True)  # switches while B is still writing
        out, err = proc.communicate(timeout=300)
        ollama.latency = 0.0
        assert proc.returncode == 0, err[-2000:]
        assert report.error is None
    owners = _ids_by_writer(chroma_url, "mm-during")
    assert expected_ids(docs) in owners.values()
    with _reader(tmp_path, chroma_url, "mm-during") as reader:
        assert reader.retrieve("Note", k=5, mode="bm25", path="second/*")


def test_a_rebuild_with_new_chunking_carries_the_other_writers_chunks_over(ollama, chroma_url, tmp_path) -> None:
    a_docs, b_docs = make_docs(tmp_path / "one", n=3), make_docs(tmp_path / "two", n=3)
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="mm-rechunk") as a:
        a.index(a_docs)
    with open_rag(tmp_path / "wb", chroma_url=chroma_url, collection="mm-rechunk") as b:
        b.index(b_docs)
    before = _ids_by_writer(chroma_url, "mm-rechunk")
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="mm-rechunk", chunk_tokens=90) as a:
        report = a.index(a_docs, rebuild=True)
        assert report.error is None and any("carried over" in w for w in report.warnings), report.warnings
    after = _ids_by_writer(chroma_url, "mm-rechunk")
    b_id = next(w for w in before if w in after and before[w] == after[w])  # B's chunks, untouched
    a_id = next(w for w in before if w != b_id)
    assert after[a_id] != before[a_id]  # A's chunks were re-made with the new size
    with open_rag(tmp_path / "wb", chroma_url=chroma_url, collection="mm-rechunk") as b:
        again = b.index(b_docs)
        assert again.unchanged == 3 and again.orphans_removed == 0 and again.files_repaired == 0


def test_one_index_folder_at_another_server_address_is_told_which_address(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "notes", n=2)
    with open_rag(tmp_path / "w", chroma_url=chroma_url, collection="mm-addr") as first:
        assert first.index(docs).added == 2
    port = chroma_url.rsplit(":", 1)[1]
    with open_rag(tmp_path / "w", chroma_url=f"http://localhost:{port}", collection="mm-addr") as again:
        with pytest.raises(WriterConflict) as err:
            again.index(docs)
    assert f"reached the server as 127.0.0.1:{port}" in str(err.value)
    assert "--chroma-url" in str(err.value)
