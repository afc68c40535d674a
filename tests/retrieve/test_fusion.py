"""rag.retrieve.fusion: score fusion, the CJK dense weight, near-duplicate collapse; rag.text.index_text."""

from __future__ import annotations

import pytest

from rag.retrieve.fusion import collapse, dense_weight_for, rrf, score_fusion
from rag.retrieve.text import index_text


def test_score_fusion_keeps_score_gaps_that_rank_fusion_loses() -> None:
    dense = [("a", 0.90), ("b", 0.89), ("c", 0.20)]
    sparse = [("c", 30.0), ("a", 2.0), ("b", 1.0)]
    fused = score_fusion(dense, sparse, dense_weight=0.5, norm="minmax")
    # a: dense 1.0, BM25 (2-1)/29; c: dense 0, BM25 1.0; b: dense 0.986, BM25 0
    assert fused["a"] == pytest.approx(0.5 + 0.5 / 29, abs=1e-6)
    assert fused["c"] == pytest.approx(0.5) and fused["b"] == pytest.approx(0.5 * 0.69 / 0.70, abs=1e-6)
    ranked = rrf([[c for c, _ in dense], [c for c, _ in sparse]], 10)
    assert max(ranked, key=ranked.get) == "a"


def test_zscore_fusion_gives_a_missing_candidate_the_legs_lowest_score() -> None:
    dense = [("a", 0.8), ("b", 0.6), ("c", 0.4)]  # z: 1.2247, 0, -1.2247
    sparse = [("d", 9.0), ("a", 3.0)]  # z: 1, -1
    fused = score_fusion(dense, sparse, dense_weight=0.5)
    assert fused["a"] == pytest.approx(0.5 * 1.2247449 - 0.5)
    assert fused["d"] == pytest.approx(0.5 * -1.2247449 + 0.5), "d: missing from dense, so dense's lowest"
    assert fused["c"] == pytest.approx(-1.2247449 / 2 - 0.5)
    assert sorted(fused, key=fused.get, reverse=True) == ["a", "d", "b", "c"]


def test_score_fusion_with_one_leg_is_that_leg_scaled() -> None:
    assert score_fusion([], [("x", 4.0), ("y", 2.0)], dense_weight=0.7, norm="minmax") == {"x": 1.0, "y": 0.0}
    assert score_fusion([], [("x", 4.0), ("y", 2.0)], dense_weight=0.7) == {"x": 1.0, "y": -1.0}
    assert score_fusion([("x", 0.3)], [], dense_weight=0.2) == {"x": 0.0}
    with pytest.raises(ValueError, match="dense_weight"):
        score_fusion([], [], dense_weight=1.5)


def test_dense_weight_drops_for_chinese_queries_only_with_an_english_embedder() -> None:
    assert dense_weight_for("嵌入接口返回什么？", 0.6, multilingual=False, cjk_weight=0.2) == 0.2
    assert dense_weight_for("嵌入接口返回什么？", 0.6, multilingual=True, cjk_weight=0.2) == 0.6
    assert dense_weight_for("What does embed return?", 0.6, multilingual=False, cjk_weight=0.2) == 0.6


def test_collapse_drops_overlapping_chunks_of_a_file_and_repeated_text() -> None:
    spans = {
        "a1": ("f.md", 0, 100),
        "a2": ("f.md", 90, 200),
        "a3": ("f.md", 200, 300),
        "b1": ("g.md", 0, 100),
        "c1": ("h.md", 0, 100),
    }
    texts = {
        "a1": "alpha beta gamma delta",
        "a2": "delta epsilon zeta",
        "a3": "eta theta iota",
        "b1": "alpha beta gamma delta",
        "c1": "kappa lambda mu",
    }
    order = ["a1", "a2", "b1", "a3", "c1"]
    assert collapse(order, spans, texts, 5) == ["a1", "a3", "c1"]  # a2 overlaps a1; b1 repeats a1's text
    assert collapse(order, spans, texts, 2) == ["a1", "a3"]


def test_index_text_prefixes_the_heading_path_once() -> None:
    assert index_text("Run ollama pull.", ("Guide", "Install")) == "Guide > Install\nRun ollama pull."
    assert index_text("## Install\nRun it.", ("Guide", "Install")) == "Guide\n## Install\nRun it."
    assert index_text("plain", ()) == "plain"
