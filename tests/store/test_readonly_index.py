"""Reading never needs write access, and never writes; a writer on a read-only or full disk says so.

Permissions are tested with the CLI in a subprocess run as an unprivileged user (`setpriv ... nobody`), since the
tests run as root, whom permissions do not stop; a full disk with a small tmpfs. Each test skips when the machine
cannot do that (not root, no setpriv, no mount).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.hits import index_docs, write_docs
from support.paths import REPO

QUESTION = "What does the embed endpoint return?"
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _rag(*args: str, user: list[str] | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "ANONYMIZED_TELEMETRY": "False", **(env or {})}
    full_env.pop("RAG_RAISE_ERRORS", None)
    return subprocess.run(
        [*(user or []), sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd="/",
        timeout=300,
        check=False,
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder everyone may traverse and read (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="rag-ro-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def nobody() -> list[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a subprocess as an unprivileged user")
    if subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", "import rag"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        cwd="/",
        check=False,
    ).returncode:
        pytest.skip("the unprivileged user cannot run this Python")
    return AS_NOBODY


def _readable_index(root: Path, ollama) -> Path:
    index = Path(index_docs(root))
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # readable by all, writable by root only
    ollama.reset()
    return index


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_readers_of_a_folder_they_cannot_write_work_and_write_nothing(shared_dir, nobody, ollama) -> None:
    index = _readable_index(shared_dir, ollama)
    before = _tree(index)
    status = _rag("status", "--index", str(index), "--json", user=nobody)
    assert status.returncode == 0, status.stderr
    (collection,) = json.loads(status.stdout)["collections"]
    assert collection["name"] == "default" and collection["chunks"] > 0
    assert collection["vectors"] == collection["chunks"]
    ask = _rag("ask", QUESTION, "--index", str(index), "--json", user=nobody)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert answer["citations"] and answer["hits"][0]["dense_score"] is not None  # the dense leg worked too
    assert "Traceback" not in ask.stderr + status.stderr
    assert _tree(index) == before  # not one byte written


def test_a_writer_on_a_folder_it_cannot_write_gets_a_clear_error(shared_dir, nobody, ollama) -> None:
    index = _readable_index(shared_dir, ollama)
    before = _tree(index)
    result = _rag("index", str(shared_dir / "docs"), "--index", str(index), user=nobody)
    assert result.returncode == 2
    assert f"The index folder {index} is read-only" in result.stderr and "Traceback" not in result.stderr
    assert _tree(index) == before


def test_a_catalog_opened_for_reading_writes_only_when_asked_to(tmp_path, ollama) -> None:
    """In process: reads leave the catalog file as it was; a write through the same object (as `rag remove` does)
    reopens it read-write."""
    import hashlib

    from rag.store.catalog import Catalog

    index = Path(index_docs(tmp_path))
    catalog_path = index / "default.catalog.sqlite"
    digest = hashlib.sha256(catalog_path.read_bytes()).hexdigest()
    with Catalog(catalog_path, create=False) as catalog:
        files, chunks = catalog.counts()
        assert chunks > 0 and catalog.manifest() is not None and len(catalog.chunk_ids()) == chunks
        assert hashlib.sha256(catalog_path.read_bytes()).hexdigest() == digest
        source = next(iter(catalog.files()))
        catalog.mark_stale([source])
        assert catalog.files()[source].stale


@pytest.fixture
def tiny_disk(tmp_path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = (
        os.geteuid() == 0
        and not subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, check=False
        ).returncode
    )
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass


def test_a_full_disk_stops_the_writer_with_a_clear_error_and_keeps_the_index(tmp_path, tiny_disk, ollama) -> None:
    built = Path(index_docs(tmp_path))
    index = tiny_disk / "index"
    shutil.copytree(built, index)
    ollama.reset()
    before = json.loads(_rag("status", "--index", str(index), "--json").stdout)["collections"][0]
    more = tmp_path / "more"
    write_docs(more)
    for i in range(40):  # enough new text that the writes cannot fit in what is left
        (more / f"extra{i}.md").write_text(f"# Extra {i}\n\n" + "Llamas graze on the hills every morning. " * 400)
    _fill(tiny_disk)
    result = _rag("index", str(more), "--index", str(index))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "disk" in result.stderr and "full" in result.stderr and "Traceback" not in result.stderr
    ask_full = _rag("ask", QUESTION, "--index", str(index), "--json")  # readers need no space
    assert ask_full.returncode == 0 and json.loads(ask_full.stdout)["citations"], ask_full.stderr[-300:]
    (tiny_disk / "filler").unlink()
    after = json.loads(_rag("status", "--index", str(index), "--json").stdout)["collections"][0]
    assert after["files"] >= before["files"] and after["chunks"] >= before["chunks"]  # nothing lost
    ask = _rag("ask", QUESTION, "--index", str(index), "--json")
    assert ask.returncode == 0 and json.loads(ask.stdout)["citations"]
