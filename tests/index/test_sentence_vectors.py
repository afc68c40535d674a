"""Indexing stores each chunk's sentence vectors with it (same embedding requests), and the setting turns it off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.sentences import sentence_texts
from rag import RAG
from rag.store.catalog import Catalog
from rag.store.layout import layout
from support.consistency import assert_consistent
from support.corpus import make_docs, open_rag
from support.ollama_server import embed_text

DIM = 384  # the fake server's all-minilm


def _stored(rag) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    lay = layout(rag.settings.index_dir, None, "default")
    with Catalog(lay.catalog, create=False) as cat:
        chunks = cat.get_chunks(cat.chunk_ids())
        texts = {cid: c.text for cid, c in chunks.items()}
        return texts, cat.sentence_vectors(texts, DIM)


def test_every_chunk_of_several_sentences_stores_one_vector_per_sentence(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs")
    with open_rag(tmp_path / "idx") as rag:
        rag.index(docs)
        assert_consistent(rag)
        texts, stored = _stored(rag)
    several = {cid for cid, text in texts.items() if sentence_texts(text)}
    assert several and set(stored) == several, "chunks of one sentence store none"
    for cid in several:
        expected = np.array([embed_text(s, DIM) for s in sentence_texts(texts[cid])], np.float32)
        assert stored[cid].shape == expected.shape
        assert np.abs(stored[cid] - expected).max() < 0.01  # int8 of the model's own sentence vectors
    sent = sum(len(b["input"]) for b in ollama.bodies("/api/embed"))
    assert sent == len(texts) + sum(len(sentence_texts(t)) for t in texts.values())


def test_switched_off_only_chunk_vectors_are_embedded_and_stored(ollama, tmp_path: Path) -> None:
    docs = make_docs(tmp_path / "docs")
    with open_rag(tmp_path / "idx", sentence_vectors=False) as rag:
        rag.index(docs)
        texts, stored = _stored(rag)
    assert texts and stored == {}
    assert sum(len(b["input"]) for b in ollama.bodies("/api/embed")) == len(texts)


QUESTION = "Rollo the Norse leader took Normandy in which year?"


def _needle_docs(docs: Path) -> Path:
    """long.md says it in one sentence among others; other.md shares words with the question throughout."""
    docs.mkdir()
    filler = " ".join(f"The orchard wall number {i} is made of old grey marble stones." for i in range(2))
    (docs / "long.md").write_text(f"{filler} Rollo the Norse leader took Normandy in 911.\n", encoding="utf-8")
    (docs / "other.md").write_text(
        "The Norse leader ships. Leader of the orchard. Normandy orchards grow apples in 911 summers.\n",
        encoding="utf-8",
    )
    return docs


def test_a_question_worded_like_one_sentence_finds_its_chunk_first(ollama, tmp_path: Path) -> None:
    docs = _needle_docs(tmp_path / "docs")
    question = QUESTION
    with open_rag(tmp_path / "on", chunk_tokens=200) as rag:
        rag.index(docs)
        on = rag.retrieve(question, k=2, mode="dense")
    with open_rag(tmp_path / "off", chunk_tokens=200, sentence_vectors=False) as rag:
        rag.index(docs)
        off = rag.retrieve(question, k=2, mode="dense")
    assert [h.source for h in off][0] == "docs/other.md", "its whole-chunk vector alone loses to the shorter file"
    assert [h.source for h in on][0] == "docs/long.md"


@pytest.mark.chroma_server
def test_a_reader_with_only_the_server_ranks_by_sentences_too(ollama, chroma_url: str, tmp_path: Path) -> None:
    docs = _needle_docs(tmp_path / "docs")
    with open_rag(tmp_path / "writer", chunk_tokens=200, chroma_url=chroma_url, collection="sv-reader") as writer:
        assert writer.index(docs).error is None
        mine = writer.retrieve(QUESTION, k=2, mode="dense")
    with RAG(tmp_path / "reader", chroma_url=chroma_url, collection="sv-reader", embed_backend="ollama") as reader:
        theirs = reader.retrieve(QUESTION, k=2, mode="dense")
    assert [h.source for h in mine][0] == [h.source for h in theirs][0] == "docs/long.md"
