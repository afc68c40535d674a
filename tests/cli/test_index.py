"""`rag index`, `rag status`, `rag remove` through click's CliRunner and as real concurrent processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from rag.cli import cli
from rag.store.layout import layout
from rag.store.lock import WriterLock
from support.corpus import make_docs
from support.paths import REPO


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def index_args(index: Path, *rest: str) -> list[str]:
    return ["--index", str(index), "--embed-backend", "ollama", *rest]


def test_index_json_then_status_and_remove(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    idx = tmp_path / "idx"
    code, out, _ = run("index", str(docs), *index_args(idx, "--json"))
    report = json.loads(out)
    assert code == 0 and report["added"] == 3 and report["chunks_added"] > 0 and report["error"] is None
    assert {f["status"] for f in report["files"]} == {"added"}

    code, out, _ = run("index", str(docs), *index_args(idx))
    assert code == 0 and "unchanged 3" in out and "chunks: +0 -0" in out

    code, out, _ = run("status", "--index", str(idx), "--json")
    status = json.loads(out)
    (col,) = status["collections"]
    assert code == 0 and col["files"] == 3 and col["chunks"] == col["vectors"] == report["chunks_added"]
    assert col["model"] == "all-minilm:latest" and status["chroma_path"] == str(idx / "chroma")
    code, out, _ = run("status", "--index", str(idx))
    assert code == 0 and f"folder {docs.resolve()}" in out and "3 files" in out

    code, out, _ = run("remove", str(docs / "doc1.txt"), "--index", str(idx), "--json")
    assert code == 0 and json.loads(out)["files"] == ["docs/doc1.txt"]
    code, out, _ = run("remove", "docs/nothing-here", "--index", str(idx), "--json")
    assert code == 2 and json.loads(out)["error"] == "IngestError"


def test_status_names_each_folder_for_what_it_holds(ollama, tmp_path: Path, monkeypatch) -> None:
    docs = make_docs(tmp_path / "docs", n=1)
    idx = tmp_path / "idx"
    assert run("index", str(docs), *index_args(idx))[0] == 0
    user = Path(os.environ["RAG_HOME"])
    code, out, _ = run("status", "--index", str(idx), "--json")
    status = json.loads(out)
    assert code == 0 and "home" not in status
    assert status["index_dir"] == status["catalog_dir"] == str(idx)  # embedded: the catalogs sit in the index folder
    assert status["user_dir"] == str(user) and status["config_path"] == str(user / "config.toml")
    assert not (user / "config.toml").exists()  # reported whether it exists or not, never created by status

    code, out, _ = run("status", "--index", str(idx))
    assert code == 0
    assert out.splitlines()[:5] == [
        f"Index folder: {idx}",
        f"Chroma:       embedded, {idx / 'chroma'}",
        f"Catalogs:     {idx}",
        f"User folder:  {user} (config and chat history)",
        f"Config file:  {user / 'config.toml'} (none yet: `rag config set KEY VALUE` creates it)",
    ]
    assert run("config", "set", "top_k", "4")[0] == 0
    assert f"Config file:  {user / 'config.toml'}\n" in run("status", "--index", str(idx))[1]
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "elsewhere.toml"))
    (tmp_path / "elsewhere.toml").write_text("top_k = 5\n", encoding="utf-8")
    code, out, _ = run("status", "--index", str(idx))
    assert code == 0 and f"Config file:  {tmp_path / 'elsewhere.toml'}\n" in out


def test_exit_codes_skipped_empty_and_ollama_down(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    (docs / "big.txt").write_text("word " * 400_000, encoding="utf-8")
    code, out, _ = run("index", str(docs), *index_args(tmp_path / "idx", "--max-file-mb", "1"))
    assert code == 1 and "docs/big.txt:" in out

    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("index", str(empty), *index_args(tmp_path / "idx2"))
    assert code == 2 and "Nothing was indexed" in err

    ollama.stop()
    code, out, _ = run("index", str(docs), *index_args(tmp_path / "idx3", "--json"))
    assert code == 2 and json.loads(out)["error"] == "OllamaUnreachable"


def test_dry_run_text(tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=2)
    code, out, _ = run("index", str(docs), "--index", str(tmp_path / "idx"), "--dry-run")
    assert code == 0 and out.startswith("Would index") and "added 2" in out


def test_manifest_mismatch_exits_2_with_the_fix(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=1)
    assert run("index", str(docs), *index_args(tmp_path / "idx"))[0] == 0
    code, _, err = run("index", str(docs), *index_args(tmp_path / "idx", "--embed-model", "nomic-embed-text"))
    assert code == 2 and "--rebuild" in err and "all-minilm:latest" in err
    code, out, _ = run(
        "index", str(docs), *index_args(tmp_path / "idx", "--embed-model", "nomic-embed-text", "--rebuild", "--json")
    )
    assert code == 0 and json.loads(out)["embed_model"] == "nomic-embed-text:latest"


def test_no_wait_fails_fast_when_locked(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=1)
    idx = tmp_path / "idx"
    with WriterLock(layout(idx, None, "default").lock):
        code, out, _ = run("index", str(docs), *index_args(idx, "--no-wait", "--json"))
        assert code == 2 and json.loads(out)["error"] == "IndexLocked"
        assert f"pid {os.getpid()}" in json.loads(out)["message"]
        status = json.loads(run("status", "--index", str(idx), "--json")[1])
        assert status["locked_by"] == os.getpid()


def test_two_concurrent_processes_are_serialised(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=8)
    idx = tmp_path / "idx"
    ollama.latency = 0.15  # long enough for the runs to overlap
    env = os.environ | {"PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "rag", "index", str(docs), *index_args(idx, "--json")]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while WriterLock(layout(idx, None, "default").lock).holder_pid() != first.pid and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until the first one holds the lock
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    out1, err1 = first.communicate(timeout=120)
    out2, err2 = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err1 + err2
    r1, r2 = json.loads(out1), json.loads(out2)
    assert f"waiting for another rag index (pid {first.pid})" in err2
    assert r1["added"] == 8 and r2["unchanged"] == 8 and r2["chunks_added"] == 0  # ran after, found it all done
    from support.consistency import assert_consistent
    from support.corpus import open_rag

    with open_rag(idx) as rag:
        assert len(assert_consistent(rag)) == r1["chunks_added"]


def test_ctrl_c_keeps_finished_files_and_the_rerun_completes(ollama, tmp_path: Path) -> None:
    import signal

    docs = make_docs(tmp_path / "docs", n=60)
    idx = tmp_path / "idx"
    # one embedding group (batch x 2 requests in flight) passes, then the run stalls: it cannot finish before the signal
    ollama.hold("/api/embed", after=2)
    env = os.environ | {"PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "rag", "index", str(docs), *index_args(idx, "--json")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    first_line = proc.stderr.readline()  # "[1/60] added ..." once the first file is stored
    assert first_line.startswith("[1/60] added"), first_line
    proc.send_signal(signal.SIGINT)
    ollama.release()  # the held request returns; the pending SIGINT stops the run at its next step
    out, _ = proc.communicate(timeout=60)
    report = json.loads(out)
    assert proc.returncode == 130 and report["interrupted"] and report["error"] is None
    assert 1 <= report["added"] < 60
    from rag import RAG
    from support.consistency import assert_consistent

    with RAG(idx, embed_backend="ollama") as rag:
        assert len(assert_consistent(rag)) == report["chunks_added"]  # exactly the finished files
        rest = rag.index(docs)
        assert rest.added == 60 - report["added"] and rest.unchanged == report["added"]
        assert rest.orphans_removed == 0
        assert_consistent(rag)
