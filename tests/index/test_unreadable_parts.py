"""An unreadable folder or file: `rag index` as an unprivileged user reports it skipped and keeps its chunks.

Tests run as root here, and root reads everything, so each index run is a child process as `nobody` (setpriv) on a
workspace that user owns; as a non-root user the runs are plain child processes. Skipped when neither is possible.
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

from rag.store.catalog import Catalog
from rag.store.chroma import ChromaStore
from rag.store.layout import layout

REPO = Path(__file__).resolve().parents[2]
TEXT = "The orchard keeper prunes the willow by the river. Lanterns mark the harbor path at night. " * 6


def _unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop privileges to test permissions")
    probe = subprocess.run(
        [
            setpriv,
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            sys.executable,
            "-c",
            "import os; print(os.geteuid())",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0 or probe.stdout.strip() == "0":
        pytest.skip(f"cannot run as nobody: {probe.stderr.strip()}")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def workspace() -> Iterator[Path]:
    """A folder outside pytest's root-only tmp tree, owned by the unprivileged user when we are root."""
    base = Path(tempfile.mkdtemp(prefix="rag-unreadable-"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        for folder, dirs, _ in os.walk(base):
            for d in dirs:
                os.chmod(os.path.join(folder, d), 0o755)
        shutil.rmtree(base)


def _own(base: Path) -> None:
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        for folder, dirs, files in os.walk(base):
            for name in [*dirs, *files]:
                os.chown(os.path.join(folder, name), nobody.pw_uid, nobody.pw_gid)
        os.chown(base, nobody.pw_uid, nobody.pw_gid)


def _index(prefix: list[str], base: Path, url: str) -> tuple[int, dict, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "RAG_HOME": str(base / "home"),
        "HOME": str(base / "home"),
        "OLLAMA_HOST": url,
        "NO_PROXY": "127.0.0.1,localhost",
        "ANONYMIZED_TELEMETRY": "False",
    }
    cmd = [
        *prefix,
        sys.executable,
        "-m",
        "rag",
        "index",
        str(base / "docs"),
        "--index",
        str(base / "idx"),
        "--embed-backend",
        "ollama",
        "--json",
    ]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, env=env, cwd=base)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def _stored(base: Path) -> tuple[dict[str, int], set[str], set[str]]:
    lay = layout(base / "idx", None, "default")
    with Catalog(lay.catalog, create=False) as cat:
        files = {s: r.chunks for s, r in cat.files().items()}
        ids = cat.chunk_ids()
    return files, ids, ChromaStore(lay.index_dir, None, lay.collection, create=False).all_ids()


def test_unreadable_folder_and_file_are_skipped_and_keep_their_chunks(ollama, workspace: Path) -> None:
    prefix = _unprivileged()
    docs = workspace / "docs"
    (docs / "sub").mkdir(parents=True)
    (workspace / "home").mkdir()
    (workspace / "idx").mkdir()
    for name in ("a.txt", "locked.txt", "sub/b.txt", "sub/c.md"):
        (docs / name).write_text(f"{name}. {TEXT}", encoding="utf-8")
    _own(workspace)

    code, first, err = _index(prefix, workspace, ollama.url)
    assert code == 0 and first["added"] == 4, err
    files_before, ids_before, vectors_before = _stored(workspace)
    assert ids_before == vectors_before and set(files_before) == {
        "docs/a.txt",
        "docs/locked.txt",
        "docs/sub/b.txt",
        "docs/sub/c.md",
    }

    os.chmod(docs / "sub", 0)  # cannot be listed
    os.chmod(docs / "locked.txt", 0)  # cannot be read
    (docs / "never").mkdir()
    (docs / "never" / "d.txt").write_text(TEXT)
    _own(workspace)
    os.chmod(docs / "never", 0)  # unreadable and never indexed
    ollama.reset()
    code, second, err = _index(prefix, workspace, ollama.url)
    reasons = {f["source"]: (f["status"], f["reason"]) for f in second["files"]}
    assert code == 1, err  # "some files skipped", not a crash
    assert second["removed"] == 0 and second["chunks_removed"] == 0
    for source in ("docs/sub/b.txt", "docs/sub/c.md"):
        status, reason = reasons[source]
        assert status == "skipped" and reason.startswith("folder cannot be read: Permission denied")
        assert "kept" in reason
    assert reasons["docs/locked.txt"][0] == "skipped" and "file cannot be read" in reasons["docs/locked.txt"][1]
    assert reasons["docs/never/"][0] == "skipped"
    assert _stored(workspace) == (files_before, ids_before, vectors_before)  # nothing lost
    assert ollama.count("/api/embed") == 0

    os.chmod(docs / "sub", 0o755)
    os.chmod(docs / "locked.txt", 0o644)
    os.chmod(docs / "never", 0o755)
    code, third, err = _index(prefix, workspace, ollama.url)
    assert code == 0, err
    assert (third["added"], third["removed"], third["unchanged"]) == (1, 0, 4)  # only never/d.txt is new
