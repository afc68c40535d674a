"""`rag eval` end to end: a tiny generated corpus, indexed for real, scored against a gold file.

With the test Ollama server (embeddings + chat with schema-valid JSON) for the full run, and with the built-in
all-minilm embedder for --retrieval-only (no server at all).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import RAG
from rag.cli import cli
from rag.errors import IngestError
from rag.eval.runner import GoldItem, load_gold

DOCS = {
    "volcanoes.md": "# Volcanoes\n\nMount Etna is an active volcano on the island of Sicily. It erupts often.\n",
    "bread.md": "# Bread\n\nSourdough bread rises because of a starter of wild yeast and lactic acid bacteria.\n",
    "chess.md": "# Chess\n\nIn chess the knight moves in an L shape: two squares one way, then one square sideways.\n",
    "tea.md": "# 茶\n\n龙井茶产于浙江杭州西湖一带，是中国著名的绿茶。\n",
}
GOLD = [
    {"question": "Which island is Mount Etna on?", "answers": ["Sicily"], "sources": ["volcanoes.md"]},
    {"question": "What makes sourdough bread rise?", "answers": ["wild yeast"], "sources": ["bread.md"]},
    {"question": "How does the knight move in chess?", "answers": ["an L shape"], "sources": {"chess.md": 2}},
    {"question": "龙井茶产于哪里？", "answers": ["杭州"], "sources": ["docs/tea.md"]},
    # Deliberately mislabelled: the bread question with the chess file as gold, so retrieval must score it a miss.
    {"question": "What is sourdough bread made with?", "sources": ["chess.md"]},
    {"question": "What is the airspeed of an unladen swallow?", "answerable": False},
]


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    """A folder of four small documents and a gold file over it."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(g, ensure_ascii=False) for g in GOLD) + "\n", encoding="utf-8")
    return docs, gold


def _run(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["eval", *args, "--json"])
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def _check_retrieval(report: dict) -> None:
    by_question = {r["question"]: r for r in report["results"]}
    assert report["with_sources"] == 5
    for item in GOLD[:4]:
        row = by_question[item["question"]]
        assert row["retrieved"][0].endswith(next(iter(item["sources"])).split("/")[-1]), row
        assert row["hit"] == 1.0 and row["gold_rank"] == 1 and row["ndcg"] == pytest.approx(1.0)
    miss = by_question[GOLD[4]["question"]]
    assert miss["hit"] == 0.0 and miss["gold_rank"] != 1 and miss["ndcg"] < 1.0
    assert report["hit_at_k"] == pytest.approx(4 / 5)
    assert report["recall_at_k"] == pytest.approx(4 / 5)
    assert report["mrr"] == pytest.approx((4 + miss["reciprocal_rank"]) / 5)
    assert report["ndcg_at_10"] == pytest.approx((4 + miss["ndcg"]) / 5)
    assert by_question[GOLD[5]["question"]]["hit"] is None  # no gold sources: not scored
    assert report["retrieve_p50_ms"] > 0 and report["retrieve_p95_ms"] >= report["retrieve_p50_ms"]


def test_eval_end_to_end_with_the_test_ollama_server(corpus: tuple[Path, Path], ollama, tmp_path: Path) -> None:
    docs, gold = corpus
    index = tmp_path / "index"
    with RAG(index, embed_model="all-minilm", embed_backend="ollama", chat_model="llama3.2") as rag:
        rag.index(docs)
    chats_before = ollama.count("/api/chat")

    report = _run(str(gold), "--index", str(index), "--k", "1", "--chat-model", "llama3.2")

    _check_retrieval(report)
    assert report["k"] == 1 and report["questions"] == 6 and not report["retrieval_only"]
    assert report["chat_model"] == "llama3.2"
    rows = report["results"]
    # The fake model quotes the context sentence that best matches the question: each holds the gold answer.
    assert report["with_answers"] == 4
    assert [r["contained"] for r in rows[:4]] == [True, True, True, True]
    assert report["answer_containment"] == pytest.approx(1.0)
    # Every answered question cited its single retrieved chunk; the gold file (or a gold answer) backs it.
    assert report["citations"] == sum(r["citations"] for r in rows) and report["citations"] >= 4
    assert all(r["citation_precision"] == 1.0 for r in rows[:4])
    assert report["unanswerable"] == 1
    assert report["abstention_accuracy"] == (1.0 if rows[5]["abstained"] else 0.0)
    answered = ollama.count("/api/chat") - chats_before
    assert 0 < answered <= 6
    assert report["prompt_tokens"] == sum(r["prompt_tokens"] for r in rows) > 0
    assert report["eval_tokens"] > 0
    assert report["answer_p50_ms"] > 0


def test_eval_retrieval_only_with_the_builtin_embedder(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    docs, gold = corpus
    index = tmp_path / "index"
    with RAG(index, embed_backend="builtin", chat_model="none") as rag:
        rag.index(docs)
        direct = rag.evaluate(gold, k=1, retrieval_only=True)

    report = _run(str(gold), "--index", str(index), "--k", "1", "--retrieval-only")

    _check_retrieval(report)
    assert report["chat_model"] is None and report["retrieval_only"]
    assert report["answer_containment"] is None and report["citations"] == 0 and report["prompt_tokens"] == 0
    assert all(r["answer"] is None for r in report["results"])
    # The library call and the CLI agree.
    assert direct.hit_at_k == report["hit_at_k"] and direct.ndcg_at_10 == pytest.approx(report["ndcg_at_10"])


def test_eval_table_on_stdout_and_progress_on_stderr(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    docs, gold = corpus
    index = tmp_path / "index"
    with RAG(index, embed_backend="builtin", chat_model="none") as rag:
        rag.index(docs)
    result = CliRunner().invoke(cli, ["eval", str(gold), "--index", str(index), "--retrieval-only", "--mode", "bm25"])
    assert result.exit_code == 0, result.output
    assert "hit@6" in result.stdout and "nDCG@10" in result.stdout and "bm25 retrieval" in result.stdout
    assert "Evaluating" in result.stderr and "Evaluating" not in result.stdout


def test_load_gold_accepts_every_documented_shape(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text(
        '# comment\n\n{"question": " Q1 ", "answers": "one", "sources": ["a.md"]}\n'
        '{"question": "Q2", "sources": {"b.md": 2, "c.md": 1}, "answerable": false}\n',
        encoding="utf-8",
    )
    assert load_gold(path) == [
        GoldItem("Q1", ("one",), {"a.md": 1.0}, True),
        GoldItem("Q2", (), {"b.md": 2.0, "c.md": 1.0}, False),
    ]


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("not json", "line 2"),
        ('{"answers": ["x"]}', '"question"'),
        ('{"question": "q", "answers": [1]}', '"answers"'),
        ('{"question": "q", "sources": "a.md"}', '"sources"'),
        ('{"question": "q", "answerable": "no"}', '"answerable"'),
    ],
)
def test_load_gold_names_the_bad_line(tmp_path: Path, line: str, complaint: str) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"question": "fine"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(IngestError) as info:
        load_gold(path)
    assert "line 2" in str(info.value) and complaint in str(info.value)


def test_eval_cli_reports_a_bad_gold_file_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", str(path), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == "IngestError" and "no questions" in result.stdout


def test_eval_min_score_floor_turns_answers_into_abstentions(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    docs, gold = corpus
    index = tmp_path / "index"
    with RAG(index, embed_backend="builtin", chat_model="none") as rag:
        rag.index(docs)
    low = _run(str(gold), "--index", str(index), "--chat-model", "none", "--min-score", "-1")
    high = _run(str(gold), "--index", str(index), "--chat-model", "none", "--min-score", "1.01")  # no cosine reaches it
    assert low["modes"].get("abstained", 0) < 6 and low["false_abstention"] < 1.0
    assert high["modes"] == {"abstained": 6}
    assert high["abstention_accuracy"] == 1.0 and high["false_abstention"] == 1.0
    assert high["answer_containment"] == 0.0 and high["citations"] == 0
