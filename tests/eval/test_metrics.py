"""rag.eval.metrics against hand-computed cases."""

from __future__ import annotations

import doctest
import math

import pytest

from rag.eval import metrics
from rag.eval.metrics import (
    abstention_accuracy,
    citation_precision,
    contains_answer,
    dedupe,
    hit_at_k,
    match_source,
    mean,
    ndcg_at_k,
    normalize_answer,
    percentile,
    recall_at_k,
    reciprocal_rank,
)


def test_doctests_pass() -> None:
    failed, tried = doctest.testmod(metrics)
    assert tried >= 4 and failed == 0


# --- ranking ---------------------------------------------------------------------------------------------------


def test_hit_at_k_counts_only_the_first_k() -> None:
    assert hit_at_k(["x", "y", "a"], {"a"}, 2) == 0.0
    assert hit_at_k(["x", "y", "a"], {"a"}, 3) == 1.0
    assert hit_at_k([], {"a"}, 5) == 0.0


def test_recall_at_k() -> None:
    assert recall_at_k(["a", "x", "c", "y"], {"a", "b", "c"}, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a", "x", "c", "y"], {"a", "b", "c"}, 4) == pytest.approx(2 / 3)
    assert recall_at_k(["a"], set(), 4) == 0.0


def test_repeated_documents_count_once_at_their_first_rank() -> None:
    # Three chunks of "a" then "b": as documents the ranking is a, b.
    assert dedupe(["a", "a", None, "a", "b"]) == ["a", None, "b"]
    assert recall_at_k(["a", "a", "a", "b"], {"a", "b"}, 2) == 1.0
    assert reciprocal_rank(["a", "a", "b"], {"b"}) == 0.5


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["x", "y", "a", "b"], {"a", "b"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "y", "a"], {"a"}, k=2) == 0.0
    assert reciprocal_rank(["x"], {"a"}) == 0.0


def test_ndcg_binary() -> None:
    # One relevant document at rank 2: DCG = 1/log2(3), ideal = 1.
    assert ndcg_at_k(["x", "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    # Two relevant, found at ranks 1 and 3: (1 + 1/2) / (1 + 1/log2 3).
    assert ndcg_at_k(["a", "x", "b"], ["a", "b"], 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))


def test_ndcg_graded_relevance() -> None:
    gold = {"d1": 3, "d2": 2, "d3": 1}
    ideal = 3 + 2 / math.log2(3) + 1 / 2
    # d3 at 1, miss at 2, d1 at 3, d2 at 4.
    assert ndcg_at_k(["d3", "x", "d1", "d2"], gold, 4) == pytest.approx((1 + 3 / 2 + 2 / math.log2(5)) / ideal)
    # Cut at k=2: only d3 counts, and the ideal is cut too.
    assert ndcg_at_k(["d3", "x", "d1", "d2"], gold, 2) == pytest.approx(1 / (3 + 2 / math.log2(3)))
    # The ideal order scores exactly 1; the reverse scores less.
    assert ndcg_at_k(["d1", "d2", "d3"], gold, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["d3", "d2", "d1"], gold, 10) < 1.0
    # Zero gain is not relevant.
    assert ndcg_at_k(["z"], {"z": 0, "d1": 1}, 10) == 0.0


def test_ndcg_ties_in_gain_are_interchangeable() -> None:
    gold = {"a": 2, "b": 2, "c": 1}
    assert ndcg_at_k(["a", "b", "c"], gold, 3) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a", "c"], gold, 3) == pytest.approx(1.0)
    # Swapping a tied pair with a lower-gain document does cost.
    assert ndcg_at_k(["c", "a", "b"], gold, 3) == pytest.approx(
        (1 + 2 / math.log2(3) + 2 / 2) / (2 + 2 / math.log2(3) + 1 / 2)
    )


def test_ndcg_with_unmatched_fillers_and_no_gold() -> None:
    assert ndcg_at_k([None, "a"], {"a"}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k(["a"], {}, 10) == 0.0


# --- sources ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gold", ["api.md", "guide/api.md", "sample_docs/guide/api.md", "guide/api", "/guide/api.md"])
def test_match_source_by_equality_or_path_suffix(gold: str) -> None:
    assert match_source("sample_docs/guide/api.md", [gold]) == gold


@pytest.mark.parametrize("gold", ["pi.md", "other/api.md", "guide", "api.txt", ""])
def test_match_source_rejects_partial_names(gold: str) -> None:
    assert match_source("sample_docs/guide/api.md", [gold]) is None


def test_match_source_doc_id_and_windows_paths() -> None:
    assert match_source("scifact/4983.txt", ["13", "4983"]) == "4983"
    assert match_source("docs/a.md", ["docs\\a.md"]) == "docs\\a.md"


# --- answers ---------------------------------------------------------------------------------------------------


def test_normalize_answer_english() -> None:
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("An apple, a day") == "appleday"
    assert normalize_answer("theater anthem") == "theateranthem"  # articles only as whole words
    assert normalize_answer("ＡＢＣ\u00a0１２３") == "abc123"  # NFKC full-width letters/digits, no-break space
    assert normalize_answer("STRASSE") == normalize_answer("straße")  # casefold, not lower


def test_normalize_answer_chinese_full_width_punctuation() -> None:
    assert normalize_answer("“北京”，中国。") == "北京中国"
    assert normalize_answer("《红楼梦》（清）") == "红楼梦清"
    assert normalize_answer("４分钟！") == "4分钟"


def test_contains_answer_english() -> None:
    assert contains_answer("Normans came in the 10th and 11th centuries.", ["10th and 11th centuries"])
    assert contains_answer("It is France.", ["Germany", "the France"])
    assert not contains_answer("It is Franc.", ["France"])
    assert not contains_answer("anything", ["", "!!"])  # empty after normalisation never matches
    assert not contains_answer("anything", [])


def test_contains_answer_chinese_without_spaces() -> None:
    assert contains_answer("生命数耗完即算为“踢爆”。", ["踢爆"])
    assert contains_answer("若游戏中离，则４分钟内不得进行配对。", ["4分钟"])
    assert contains_answer("答案：北京，中国", ["北京中国"])  # punctuation between the words is ignored
    assert not contains_answer("爆踢", ["踢爆"])


def test_citation_precision() -> None:
    cited = [("docs/a.md", "irrelevant"), ("docs/b.md", "it is in France."), ("docs/c.md", "nothing here")]
    assert citation_precision(cited, ["a.md"], ["france"]) == pytest.approx(2 / 3)
    assert citation_precision(cited, [], []) == 0.0
    assert citation_precision([], ["a.md"], ["x"]) is None


def test_abstention_accuracy() -> None:
    assert abstention_accuracy([True, False, True, False], [False, False, True, True]) == 0.5
    assert abstention_accuracy([True], [True]) is None
    with pytest.raises(ValueError):
        abstention_accuracy([True], [])


# --- latency ---------------------------------------------------------------------------------------------------


def test_percentile_interpolates_linearly() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([1, 2, 3, 4], 0) == 1 and percentile([1, 2, 3, 4], 100) == 4
    assert percentile([10.0], 95) == 10.0
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_mean_skips_none() -> None:
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None]) is None
