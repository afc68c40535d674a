"""A torn or garbled BM25 side index is never fatal: `rag index` and queries rebuild it with a warning. `rag status`
counts vectors from Chroma's file without importing chromadb."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from rag import RAG
from rag.cli import cli
from rag.store.chroma import ChromaStore
from rag.store.chroma_count import embedded_count
from rag.store.layout import layout

REPO = Path(__file__).resolve().parents[2]


def _docs(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "api.md").write_text("# API\n\nThe embed endpoint returns a list of vectors.\n", encoding="utf-8")
    chat = "# Chat\n\nChat streams messages; the final object has timings.\n"
    (folder / "chat.md").write_text(chat, encoding="utf-8")
    (folder / "zh.md").write_text("# 向量\n\n向量数据库保存嵌入向量。\n", encoding="utf-8")
    return folder


def _index(docs: Path, idx: Path) -> dict:
    result = CliRunner().invoke(
        cli, ["index", str(docs), "--index", str(idx), "--embed-backend", "ollama", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _bm25_files(idx: Path) -> tuple[Path, Path]:
    stem = layout(idx, None, "default").bm25
    (segment,) = stem.parent.glob(stem.name + ".seg-*.npz")
    return stem.with_name(stem.name + ".json"), segment


def test_rag_index_repairs_a_truncated_or_garbled_side_index(ollama, tmp_path: Path) -> None:
    docs, idx = _docs(tmp_path / "docs"), tmp_path / "idx"
    assert _index(docs, idx)["warnings"] == []
    header, segment = _bm25_files(idx)
    segment.write_bytes(segment.read_bytes()[:100])  # torn write
    report = _index(docs, idx)
    assert any("unreadable" in w and "rebuilt" in w for w in report["warnings"]), report["warnings"]
    header.write_text(header.read_text(encoding="utf-8")[:-7] + "garbage", encoding="utf-8")
    report = _index(docs, idx)
    assert any("unreadable" in w for w in report["warnings"]), report["warnings"]
    assert _index(docs, idx)["warnings"] == [], "repaired: the next run has nothing to say"
    with RAG(index_dir=idx) as rag:
        assert rag.retrieve("embed endpoint vectors", k=1, mode="bm25")[0].source.endswith("api.md")


def test_a_query_over_a_garbled_side_index_rebuilds_it_and_answers(ollama, tmp_path: Path, caplog) -> None:
    docs, idx = _docs(tmp_path / "docs"), tmp_path / "idx"
    _index(docs, idx)
    _, segment = _bm25_files(idx)
    segment.write_bytes(b"\x00" * segment.stat().st_size)  # same size, garbled content
    with RAG(index_dir=idx) as rag:
        with caplog.at_level(logging.WARNING, logger="rag.retrieve.bm25"):
            hits = rag.retrieve("嵌入向量", k=1, mode="bm25")
        assert hits and hits[0].source.endswith("zh.md")
    assert any("unreadable" in r.getMessage() and "rebuilt" in r.getMessage() for r in caplog.records)
    _, segment = _bm25_files(idx)
    assert segment.read_bytes()[:2] == b"PK", "the rebuilt index was saved"


def test_status_counts_vectors_without_chromadb(ollama, tmp_path: Path) -> None:
    docs, idx = _docs(tmp_path / "docs"), tmp_path / "idx"
    report = _index(docs, idx)
    lay = layout(idx, None, "default")
    assert lay.chroma_dir is not None
    store = ChromaStore(idx, None, "default", create=False)
    assert embedded_count(lay.chroma_dir, "default") == store.count() == report["chunks_added"]
    assert embedded_count(lay.chroma_dir, "no-such-collection") is None
    code = (
        "import sys, json; from rag.config import Settings; from rag.index.status import index_status; "
        f"s = index_status(Settings.resolve(index_dir={str(idx)!r})); "
        "print(json.dumps([s.collections[0].vectors, 'chromadb' in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert json.loads(out.stdout) == [store.count(), False]
