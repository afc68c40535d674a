"""Server mode: the same index, status and query checks against a real `chroma run` on 127.0.0.1."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import free_port
from test_indexer import assert_consistent, make_docs, open_rag

pytestmark = pytest.mark.chroma_server


def _chroma_cli() -> str | None:
    from_venv = Path(os.sys.executable).with_name("chroma")
    return str(from_venv) if from_venv.exists() else shutil.which("chroma")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):
    exe = _chroma_cli()
    if exe is None:
        pytest.skip("the `chroma` CLI is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen([exe, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma run did not start: {(data / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_index_sync_and_status_on_a_server(ollama, chroma_url: str, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=4)
    with open_rag(tmp_path / "idx", chroma_url=chroma_url, collection="server-sync") as rag:
        first = rag.index(docs)
        assert first.added == 4 and first.error is None
        ids = assert_consistent(rag)
        ollama.reset()
        assert rag.index(docs).unchanged == 4 and ollama.count("/api/embed") == 0
        (docs / "doc1.txt").unlink()
        assert rag.index(docs).removed == 1
        left = assert_consistent(rag)
        assert left < ids
        status = rag.status()
        assert status.chroma_url == chroma_url and status.chroma_path is None
        assert Path(status.home) == tmp_path / "idx" / "servers" / f"127.0.0.1_{chroma_url.rsplit(':', 1)[1]}"
        col = next(c for c in status.collections if c.name == "server-sync")
        assert col.files == 3 and col.chunks == col.vectors == len(left)
    assert not (tmp_path / "idx" / "chroma").exists()  # nothing embedded was created


def test_query_on_a_server_finds_the_indexed_text(ollama, chroma_url: str, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs", n=3)
    (docs / "needle.md").write_text("# Zebra\n\nThe zebra crossing protocol uses quartz semaphores.\n", encoding="utf-8")
    with open_rag(tmp_path / "idx", chroma_url=chroma_url, collection="server-query") as rag:
        rag.index(docs)
        from rag.layout import layout
        from rag.store import ChromaStore
        from rag.embedders import open_embedder

        lay = layout(rag.settings.index_dir, chroma_url, "server-query")
        store = ChromaStore(lay.index_dir, chroma_url, "server-query", create=False)
        vector = open_embedder("all-minilm", backend="ollama", client=rag.client).embed_query("zebra quartz semaphores")
        (best, distance), *_ = store.query(vector, 3)
        from rag.catalog import Catalog

        with Catalog(lay.catalog, create=False) as cat:
            assert cat.get_chunks([best])[best].source == "docs/needle.md"
        assert distance < 1.0
