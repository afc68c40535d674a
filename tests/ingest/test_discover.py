"""Discovery: types, ignore rules, symlinks, size limit, order and storage keys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest import IngestError, discover, extract


def _write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "my docs"
    _write(root, "guide.md", "# Guide\n\nHello.\n")
    _write(root, "notes/b.txt", "plain notes")
    _write(root, "notes/a.rst", "Title\n=====\n")
    _write(root, "页面 one.html", "<html><body><p>hi</p></body></html>")
    _write(root, "noext_pdf", b"%PDF-1.4\n...")
    _write(root, "noext_html", "  <!DOCTYPE html><html><p>x</p></html>")
    _write(root, "noext_text", "just text, no extension")
    _write(root, "noext_binary", b"\x00\x01\x02\x03binary")
    _write(root, "photo.heic", b"\x89PNG\r\n\x1a\n")
    _write(root, ".hidden/secret.txt", "hidden")
    _write(root, ".dotfile.txt", "hidden")
    for noise in ("node_modules", ".git", "__pycache__", "venv", ".rag"):
        _write(root, f"{noise}/x.txt", "noise")
    _write(root, "index/chroma.txt", "the index folder")
    return root


def test_types_order_and_keys(tree: Path) -> None:
    found = list(discover(tree, skip_dirs=[tree / "index"]))
    rels = [s.rel for s in found]
    assert rels == sorted(rels)
    assert rels == ["guide.md", "noext_html", "noext_pdf", "noext_text", "notes/a.rst", "notes/b.txt", "页面 one.html"]
    kinds = {s.rel: s.kind for s in found}
    assert kinds == {
        "guide.md": "markdown",
        "noext_html": "html",
        "noext_pdf": "pdf",
        "noext_text": "text",
        "notes/a.rst": "text",
        "notes/b.txt": "text",
        "页面 one.html": "html",
    }
    guide = found[0]
    assert guide.source == "my docs/guide.md" and guide.root == tree.resolve()
    assert guide.path.read_text(encoding="utf-8").startswith("# Guide")
    assert guide.size == len("# Guide\n\nHello.\n") and guide.mtime_ns > 0 and guide.skip_reason is None
    import hashlib

    assert guide.sha256() == hashlib.sha256(guide.path.read_bytes()).hexdigest()


def test_index_folder_skipped_only_when_asked(tree: Path) -> None:
    assert "index/chroma.txt" in [s.rel for s in discover(tree)]


def test_unicode_and_space_names_extract(tree: Path) -> None:
    src = next(s for s in discover(tree) if s.rel == "页面 one.html")
    report, chunks = extract(src)
    assert report.status == "ok" and chunks[0].source == "my docs/页面 one.html" and chunks[0].text == "hi"


def test_ragignore_root_and_nested(tree: Path) -> None:
    _write(tree, ".ragignore", "*.rst\ndrafts/\n")
    _write(tree, "drafts/d.txt", "draft")
    _write(tree, "notes/.ragignore", "b.txt\n")
    _write(tree, "other/b.txt", "kept: the nested rule is relative to notes/")
    rels = [s.rel for s in discover(tree)]
    assert "notes/a.rst" not in rels and "drafts/d.txt" not in rels and "notes/b.txt" not in rels
    assert "other/b.txt" in rels and "guide.md" in rels


def test_include_exclude(tree: Path) -> None:
    assert [s.rel for s in discover(tree, include=["*.txt"])] == ["index/chroma.txt", "notes/b.txt"]
    rels = [s.rel for s in discover(tree, exclude=["notes/", "noext_*"])]
    assert not any(r.startswith(("notes/", "noext_")) for r in rels) and "guide.md" in rels


def test_size_limit_reported_not_read(tree: Path) -> None:
    _write(tree, "big.txt", "x" * 5000)
    big = next(s for s in discover(tree, max_file_bytes=1000) if s.rel == "big.txt")
    assert big.skip_reason and "too large" in big.skip_reason and big.size == 5000
    report, chunks = extract(big)
    assert report.status == "skipped" and report.reason == big.skip_reason and chunks == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinks_loop_and_escape(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, "leak.txt", "must not be indexed")
    os.symlink(tree, tree / "notes" / "loop")  # a loop back to the root
    os.symlink(outside, tree / "escape")  # a folder outside the root
    os.symlink(outside / "leak.txt", tree / "leak_link.txt")  # a file outside the root
    os.symlink(tree / "guide.md", tree / "guide_link.md")  # a file inside: followed
    os.symlink(tree / "missing.txt", tree / "dangling.txt")
    rels = [s.rel for s in discover(tree)]
    assert "guide_link.md" in rels
    assert not any("leak" in r or r.startswith("escape") or "dangling" in r for r in rels)
    assert not any("/loop/" in r for r in rels)


def test_single_file_root(tree: Path) -> None:
    [only] = list(discover(tree / "guide.md"))
    assert only.rel == "guide.md" and only.source == "my docs/guide.md"


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file or folder"):
        list(discover(tmp_path / "nope"))
