"""Text, Markdown and HTML loaders on files the tests write."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ingest import IngestError, chunk, discover, extract, load

ZH = "中文测试：这是一个用国标编码保存的文件。它包含一些汉字，以及标点符号！我们要确认解码正确无误。" * 4


def _load(tmp_path: Path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    return load(next(s for s in discover(tmp_path) if s.rel == name))


@pytest.mark.parametrize(
    "encoding,prefix",
    [
        ("gb18030", b""),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-8", b""),
    ],
)
def test_text_encodings(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    doc = _load(tmp_path, "zh.txt", prefix + ZH.replace("。", "。\r\n").encode(encoding))
    assert doc.text.startswith("中文测试") and "汉字" in doc.text
    assert "\r" not in doc.text and "\ufeff" not in doc.text
    assert doc.kind == "text" and doc.pages == () and doc.sections == ()


def test_binary_with_text_extension_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_bytes(bytes(range(256)) * 20)
    report, chunks = extract(next(discover(tmp_path)))
    assert report.status == "skipped" and report.reason.startswith("binary file") and chunks == []


def test_empty_text_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n\n ", encoding="utf-8")
    report, _ = extract(next(discover(tmp_path)))
    assert report.status == "skipped" and report.reason == "no text"


MARKDOWN = """Preamble line.

# Manual

Intro paragraph.

## Install

### Linux

Run the installer.

```sh
# this is a comment, not a heading
make install
```

Setext Heading
--------------

Body under setext.

## Usage

Use it.
"""


def test_markdown_heading_paths(tmp_path: Path) -> None:
    doc = _load(tmp_path, "m.md", MARKDOWN.encode())
    assert doc.title == "Manual"
    paths = [s.heading_path for s in doc.sections]
    assert paths == [
        ("Manual",),
        ("Manual", "Install"),
        ("Manual", "Install", "Linux"),
        ("Manual", "Setext Heading"),
        ("Manual", "Usage"),
    ]
    by_text = {c.text.split("\n")[-1]: c.heading_path for c in chunk(doc, size=200, overlap=0)}
    assert by_text["Preamble line."] == ()
    assert by_text["```"] == ("Manual", "Install", "Linux")
    assert by_text["Body under setext."] == ("Manual", "Setext Heading")
    assert by_text["Use it."] == ("Manual", "Usage")


def test_markdown_code_fence_not_split_mid_line(tmp_path: Path) -> None:
    code = "\n".join(f"    value_{i} = compute(alpha, beta, gamma, {i})" for i in range(60))
    doc = _load(tmp_path, "code.md", f"# Code\n\nSome text first.\n\n```python\n{code}\n```\n\nAfter.\n".encode())
    fence_start = doc.text.index("```python")
    fence_end = doc.text.index("```\n\nAfter") + 3
    chunks = chunk(doc, size=40, overlap=10)
    assert len(chunks) > 5
    for c in chunks:
        for edge in (c.char_start, c.char_end):
            if fence_start < edge < fence_end:
                # inside the fence a chunk starts at a line's text and ends at a line's end
                line_start = doc.text.rindex("\n", 0, edge) + 1
                assert doc.text[line_start:edge].strip() == "" or doc.text[edge] == "\n", c


HTML = """<!DOCTYPE html><html><head><title>Tea &amp; Coffee</title>
<style>body { color: red }</style><script>var secret = "dropped";</script></head>
<body><nav><a href="/">Home</a> | <a href="/x">Menu</a></nav>
<h1>Brewing</h1><p>Water at 90&deg;C &mdash; not boiling.</p>
<h2>Green tea</h2><p>Steep two minutes.<br>Then pour.</p><noscript>enable js</noscript>
<script>document.write("also dropped")</script>
<ul><li>Sencha</li><li>Gyokuro</li></ul>
</body></html>"""


def test_html_text_title_headings(tmp_path: Path) -> None:
    doc = _load(tmp_path, "tea.html", HTML.encode())
    assert doc.title == "Tea & Coffee"
    assert doc.text.startswith("Tea & Coffee\n\nBrewing")
    assert "Water at 90°C — not boiling." in doc.text
    assert "Steep two minutes.\nThen pour." in doc.text
    assert "Sencha\nGyokuro" in doc.text
    for dropped in ("secret", "also dropped", "color", "Home", "Menu", "enable js"):
        assert dropped not in doc.text
    assert [s.heading_path for s in doc.sections] == [("Brewing",), ("Brewing", "Green tea")]
    green = doc.sections[1]
    assert doc.text[green.char_start : green.char_end].startswith("Green tea")


def test_load_raises_ingest_error_for_skip_reason(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("x" * 100, encoding="utf-8")
    src = next(discover(tmp_path, max_file_bytes=10))
    with pytest.raises(IngestError) as err:
        load(src)
    assert err.value.path == src.source and "too large" in err.value.reason
