"""The answer reads only the hits close to the best one (`context_gap`): a clear drop in fused score ends its
sources. Unit checks on `focus`, then a real index over the fake Ollama (real sockets)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rag import RAG
from rag.answer.context import FOCUS_MIN_HITS, focus
from support.hits import make_hit


def _scored(*scores: float):
    return [dataclasses.replace(make_hit(f"c{n}", f"text {n}", rank=n + 1), score=s) for n, s in enumerate(scores)]


def test_focus_keeps_hits_within_the_gap_in_rank_order() -> None:
    hits = _scored(3.0, 2.2, 1.1, 0.9, -0.5)
    assert [h.id for h in focus(hits, 2.0)] == ["c0", "c1", "c2"]
    assert [h.id for h in focus(hits, 5.0)] == [h.id for h in hits]
    assert focus(hits, None) == hits and focus(hits, 0) == hits


def test_focus_never_leaves_fewer_than_the_minimum() -> None:
    hits = _scored(5.0, 0.1, 0.0)
    kept = focus(hits, 0.5)
    assert [h.id for h in kept] == ["c0", "c1"] and len(kept) == FOCUS_MIN_HITS
    assert focus(hits[:1], 0.5) == hits[:1] and focus([], 0.5) == []


def test_an_answer_reads_only_the_close_hits(tmp_path: Path, ollama) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "embed.md").write_text(
        "# Embeddings\n\nThe embed endpoint returns one vector per input, normalised to unit length.\n", "utf-8"
    )
    (docs / "stop.md").write_text("# Stopping\n\nThe stop command unloads the model from memory.\n", "utf-8")
    for n in range(8):
        (docs / f"misc{n}.md").write_text(f"# Note {n}\n\nGardening tip {n}: water tomatoes in the morning.\n", "utf-8")
    question = "What does the embed endpoint return for each input?"
    with RAG(tmp_path / "index", embed_backend="builtin", chat_model="none", min_score=0.0) as rag:
        rag.index(docs)
        retrieved = rag.retrieve(question, k=6)
        focused = rag.ask(question, k=6)
    with RAG(tmp_path / "index", embed_backend="builtin", chat_model="none", min_score=0.0, context_gap=0) as rag:
        wide = rag.ask(question, k=6)
    best = retrieved[0].score
    assert retrieved[0].source.endswith("embed.md")
    far = [h.id for h in retrieved if h.score < best - 2.0]
    assert far, "the fixture must have hits past the gap"
    assert [h.id for h in focused.hits] == [h.id for h in retrieved if h.id not in far or h.rank <= FOCUS_MIN_HITS]
    assert [h.id for h in wide.hits] == [h.id for h in retrieved]
    assert "one vector per input" in focused.answer
