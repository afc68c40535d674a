"""Chunking: sizes, boundaries, overlap, coverage (property test), ids, split_chunk."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import Chunk, Document, Page, Section, chunk, estimate_tokens, split_chunk

EN = (
    "The river runs north in spring. Ferries cross it twice a day! Do the mills still grind wheat? "
    "They do, and barley too. "
) * 12
ZH = "长江是中国第一长河。它流经十一个省区！沿岸城市众多；航运十分发达。你去过三峡吗？" * 12


def _doc(text: str, **kw) -> Document:
    return Document(source="root/doc.txt", kind=kw.pop("kind", "text"), text=text, sha256="f" * 64, **kw)


def _assert_exact(doc: Document, chunks: list[Chunk]) -> None:
    for c in chunks:
        assert c.text == doc.text[c.char_start : c.char_end]
        assert c.text.strip() == c.text and c.text


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("中文分词") == 4
    assert estimate_tokens("Hello, world!") == 4
    assert estimate_tokens("internationalization") == 1 + 19 // 6
    assert estimate_tokens("TEX在中文") == 1 + 3


@pytest.mark.parametrize("text", [EN, ZH, EN + "\n\n" + ZH])
def test_sizes_sentences_overlap(text: str) -> None:
    doc = _doc(text)
    chunks = chunk(doc, size=60, overlap=12)
    _assert_exact(doc, chunks)
    assert len(chunks) > 3
    assert all(estimate_tokens(c.text) <= 60 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.char_start < a.char_end, "consecutive chunks overlap"
        assert estimate_tokens(doc.text[b.char_start : a.char_end]) <= 12
        assert a.text[-1] in ".!?。！？；", "a chunk ends at a sentence end when it can"


def test_no_overlap_tiles_text() -> None:
    doc = _doc(EN)
    chunks = chunk(doc, size=50, overlap=0)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.char_end <= b.char_start and doc.text[a.char_end : b.char_start].strip() == ""


def test_ids_deterministic_and_content_addressed() -> None:
    doc = _doc(EN)
    first, second = chunk(doc, 40, 5), chunk(_doc(EN), 40, 5)
    assert [c.id for c in first] == [c.id for c in second]
    c = first[2]
    expected = hashlib.sha256(f"{c.source}\n{c.char_start}\n{c.char_end}\n{c.text}".encode()).hexdigest()[:32]
    assert c.id == expected and len({x.id for x in first}) == len(first)
    moved = chunk(Document(source="other/doc.txt", kind="text", text=EN, sha256="f" * 64), 40, 5)
    assert moved[0].id != first[0].id


def test_sections_not_crossed_and_pages_mapped() -> None:
    text = "Alpha section body. " * 10 + "\n\n" + "Beta section body. " * 10
    cut = text.index("Beta")
    doc = _doc(
        text,
        kind="pdf",
        sections=(Section(0, cut, ("A",)), Section(cut, len(text), ("B",))),
        pages=(Page(1, 0, 150), Page(2, 150, len(text))),
    )
    chunks = chunk(doc, size=30, overlap=5)
    _assert_exact(doc, chunks)
    for c in chunks:
        assert c.char_end <= cut or c.char_start >= cut
        assert c.heading_path == (("A",) if c.char_start < cut else ("B",))
        assert c.page_start == (1 if c.char_start < 150 else 2)
        assert c.page_end == (1 if c.char_end <= 150 else 2)
    assert {c.file_sha256 for c in chunks} == {"f" * 64}


def test_long_word_and_bad_arguments() -> None:
    doc = _doc("x" * 1000 + " tail")
    chunks = chunk(doc, size=20, overlap=0)
    _assert_exact(doc, chunks)
    assert all(estimate_tokens(c.text) <= 20 for c in chunks)
    with pytest.raises(ValueError):
        chunk(doc, size=10, overlap=10)


_ALPHABET = st.sampled_from(list("abc xyz.!?\n\n  。！？；中文字") + ["Hello ", "世界", "\t", "——", "##"])


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(_ALPHABET, max_size=300),
    size=st.integers(1, 40),
    overlap_share=st.floats(0, 0.9),
    cuts=st.lists(st.integers(0, 2000), max_size=4),
)
def test_chunks_cover_every_non_space_character(parts, size, overlap_share, cuts) -> None:
    text = "".join(parts)
    bounds = sorted({c for c in cuts if c < len(text)})
    sections = tuple(Section(a, b, (f"h{a}",)) for a, b in zip(bounds, bounds[1:], strict=False))
    doc = _doc(text, kind="markdown", sections=sections)
    chunks = chunk(doc, size=size, overlap=int(size * overlap_share))
    _assert_exact(doc, chunks)
    covered = [False] * len(text)
    for c in chunks:
        assert estimate_tokens(c.text) <= size
        covered[c.char_start : c.char_end] = [True] * (c.char_end - c.char_start)
    assert all(covered[i] or ch.isspace() for i, ch in enumerate(text))


def test_split_chunk_with_custom_counter() -> None:
    doc = _doc(EN + ZH)
    [big] = chunk(doc, size=10_000, overlap=0)
    count_chars = len  # a "tokenizer" counting characters: stricter than the estimate
    pieces = split_chunk(big, 80, count_chars)
    assert len(pieces) > 5
    _assert_exact(doc, pieces)
    assert all(len(p.text) <= 80 for p in pieces)
    assert all(p.ordinal == big.ordinal and p.heading_path == big.heading_path for p in pieces)
    assert len({p.id for p in pieces}) == len(pieces)
    assert [p.id for p in split_chunk(big, 80, count_chars)] == [p.id for p in pieces]
    rejoined = [p.text for p in pieces]
    assert "".join("".join(rejoined).split()) == "".join(big.text.split())
    assert sum(p.text.endswith((".", "!", "?", "。", "！", "？", "；")) for p in pieces) >= len(pieces) // 2


def test_split_chunk_fits_unchanged_and_none_counter() -> None:
    doc = _doc(EN)
    small = chunk(doc, size=30, overlap=0)[0]
    assert split_chunk(small, 1000) == [small]
    pieces = split_chunk(small, 10, lambda text: None)
    assert len(pieces) > 1 and all(estimate_tokens(p.text) <= 10 for p in pieces)
    with pytest.raises(ValueError):
        split_chunk(small, 0, len)
