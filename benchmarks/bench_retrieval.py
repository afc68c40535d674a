"""SciFact retrieval: nDCG@10 and recall@10 for dense, BM25 and hybrid retrieval with the built-in all-minilm embedder.

Command (from the repo root; needs ../shared/eval/scifact):

    python benchmarks/bench_retrieval.py            # the modes with the shipped defaults, plus the variant grid
    python benchmarks/bench_retrieval.py --quick    # the modes only
    python benchmarks/bench_retrieval.py --ranking  # fusion, heading text, near-duplicate collapse on all sets

Code path: the layers directly, not RAG.index over generated files (the folder walk and Chroma writes add nothing to
ranking quality and cost minutes). Each abstract is one document, "title\\ntext", embedded with rag.embed.minilm (the
built-in embedder, truncated at its 256 tokens as sentence-transformers does for the published figure); dense search
is exact cosine over all vectors with numpy (Chroma's HNSW approximates this); BM25 is rag.retrieve.bm25.build over
the same
texts with rag.retrieve.bm25's tokenizer settings; hybrid is rag.retrieve.hybrid.rrf over each leg's top 40 (what
rag.retrieve.hybrid fuses for k=10).
Vectors are cached in benchmarks/out/ (first run: ~10 minutes on 2 cores). Queries: the 809 train claims
(the test split is not shipped); published test-split figures for comparison: dense ~0.645, BM25 0.665-0.679.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from _common import embed_cached, machine, plot, read_jsonl, require, save_json, table

from rag.config import DEFAULT_DENSE_WEIGHT, DEFAULT_FUSION, DEFAULT_RRF_K
from rag.eval import metrics
from rag.retrieve import bm25
from rag.retrieve.fusion import rrf, score_fusion
from rag.retrieve.hybrid import CANDIDATES_PER_K, MIN_CANDIDATES

DEPTH = 100
"""Results kept from each leg alone (recall@100)."""
FUSE_DEPTH = max(CANDIDATES_PER_K * 10, MIN_CANDIDATES)
"""Candidates each leg gives fusion for a top-10 query, as rag.retrieve.hybrid does."""
Ranking = list[tuple[str, float]]


def load(folder: Path) -> tuple[list[dict], dict[str, str], dict[str, dict[str, float]]]:
    """(corpus, query id -> text, query id -> {doc id: gain}) for the queries that have judgements."""
    corpus = list(read_jsonl(folder / "corpus.jsonl"))
    queries = {q["_id"]: q["text"] for q in read_jsonl(folder / "queries_train.jsonl")}
    qrels: dict[str, dict[str, float]] = defaultdict(dict)
    for line in (folder / "qrels_train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        if float(score) > 0:
            qrels[qid][doc] = float(score)
    return corpus, {q: queries[q] for q in qrels if q in queries}, dict(qrels)


def dense_rankings(doc_ids: Sequence[str], docs: np.ndarray, queries: np.ndarray) -> list[Ranking]:
    """Exact cosine top-DEPTH per query (vectors are unit length)."""
    scores = queries @ docs.T
    top = np.argpartition(-scores, DEPTH, axis=1)[:, :DEPTH]
    out = []
    for row, cand in zip(scores, top, strict=False):
        order = cand[np.argsort(-row[cand], kind="stable")]
        out.append([(doc_ids[i], float(row[i])) for i in order])
    return out


def bm25_rankings(
    corpus: Sequence[dict], queries: Sequence[str], *, k1: float, b: float, stem: bool, stopwords: bool, title: bool
) -> list[Ranking]:
    """BM25 top-DEPTH per query, with rag.retrieve.bm25's module settings temporarily set to this variant."""
    saved = (bm25.K1, bm25.B, bm25.STEM, bm25.STOPWORDS)
    bm25.K1, bm25.B, bm25.STEM, bm25.STOPWORDS = k1, b, stem, stopwords
    try:
        rows = ((d["_id"], f"{d['title']}\n{d['text']}" if title else d["text"], d["_id"]) for d in corpus)
        index = bm25.build(rows)
        return [index.search(q, DEPTH) for q in queries]
    finally:
        bm25.K1, bm25.B, bm25.STEM, bm25.STOPWORDS = saved


def _shipped_fusion(dense: Ranking, sparse: Ranking) -> Ranking:
    fused = score_fusion(
        dense[:FUSE_DEPTH],
        sparse[:FUSE_DEPTH],
        dense_weight=DEFAULT_DENSE_WEIGHT,
        norm="minmax" if DEFAULT_FUSION == "minmax" else "zscore",
    )
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def fuse_rrf(dense: Ranking, sparse: Ranking, c: int, weights: tuple[float, float] = (1.0, 1.0)) -> Ranking:
    """rag.retrieve.hybrid.rrf over each leg's top FUSE_DEPTH (weighted: weight / (c + rank), for the variants)."""
    legs = [[d for d, _ in dense[:FUSE_DEPTH]], [d for d, _ in sparse[:FUSE_DEPTH]]]
    if weights == (1.0, 1.0):
        fused = rrf(legs, c)
    else:
        fused = defaultdict(float)
        for leg, w in zip(legs, weights, strict=False):
            for rank, doc in enumerate(leg, start=1):
                fused[doc] += w / (c + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def convex(dense: Ranking, sparse: Ranking, alpha: float) -> Ranking:
    """alpha * min-max(dense) + (1 - alpha) * min-max(BM25) over the union of candidates (missing = 0)."""

    def scaled(ranking: Ranking) -> dict[str, float]:
        if not ranking:
            return {}
        hi, lo = ranking[0][1], ranking[-1][1]
        return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in ranking}

    a, b = scaled(dense[:FUSE_DEPTH]), scaled(sparse[:FUSE_DEPTH])
    fused = {d: alpha * a.get(d, 0.0) + (1 - alpha) * b.get(d, 0.0) for d in a.keys() | b.keys()}
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


def score(rankings: Sequence[Ranking], gold: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean nDCG@10, recall@10 and recall@100 (BEIR convention: documents, linear gains)."""
    ids = [[d for d, _ in r] for r in rankings]
    return {
        "ndcg@10": float(np.mean([metrics.ndcg_at_k(r, g, 10) for r, g in zip(ids, gold, strict=False)])),
        "recall@10": float(np.mean([metrics.recall_at_k(r, g, 10) for r, g in zip(ids, gold, strict=False)])),
        "recall@100": float(np.mean([metrics.recall_at_k(r, g, 100) for r, g in zip(ids, gold, strict=False)])),
    }


def _fused(dense: list[Ranking], sparse: list[Ranking], fuse: Callable[[Ranking, Ranking], Ranking]) -> list[Ranking]:
    return [fuse(d, s) for d, s in zip(dense, sparse, strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the three modes with the shipped defaults")
    args = parser.parse_args()
    folder = require("scifact", "corpus.jsonl", "queries_train.jsonl", "qrels_train.tsv")
    corpus, queries, qrels = load(folder)
    qids = list(queries)
    gold = [qrels[q] for q in qids]
    print(f"SciFact train: {len(corpus)} documents, {len(qids)} queries; {machine()}", file=sys.stderr)

    started = time.perf_counter()
    doc_vectors = embed_cached([f"{d['title']}\n{d['text']}" for d in corpus], "scifact_docs")
    query_vectors = embed_cached([queries[q] for q in qids], "scifact_queries")
    print(f"vectors ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    doc_ids = [d["_id"] for d in corpus]
    dense = dense_rankings(doc_ids, doc_vectors, query_vectors)
    shipped = dict(k1=bm25.K1, b=bm25.B, stem=bm25.STEM, stopwords=bm25.STOPWORDS, title=True)
    sparse = bm25_rankings(corpus, [queries[q] for q in qids], **shipped)

    rows: list[tuple[str, str, dict[str, float]]] = [
        ("dense", "all-minilm (built-in), exact cosine", score(dense, gold)),
        ("bm25", f"k1={bm25.K1} b={bm25.B} stem={bm25.STEM} stopwords={bm25.STOPWORDS}", score(sparse, gold)),
        (
            "hybrid",
            f"RRF c={DEFAULT_RRF_K}, equal weights",
            score(_fused(dense, sparse, lambda d, s: fuse_rrf(d, s, DEFAULT_RRF_K)), gold),
        ),
    ]
    if DEFAULT_FUSION != "rrf":  # the shipped fusion (rag.retrieve.fusion.score_fusion), first among the hybrids
        rows.insert(
            2,
            (
                "hybrid",
                f"shipped: {DEFAULT_FUSION} score fusion, dense weight {DEFAULT_DENSE_WEIGHT}",
                score(_fused(dense, sparse, _shipped_fusion), gold),
            ),
        )
    if not args.quick:
        rows += _variants(corpus, queries, qids, gold, dense, sparse)
    print(
        table(
            ["mode", "variant", "nDCG@10", "recall@10", "recall@100"],
            [(m, v, s["ndcg@10"], s["recall@10"], s["recall@100"]) for m, v, s in rows],
        )
    )
    save_json(
        "bench_retrieval",
        {
            "machine": machine(),
            "queries": len(qids),
            "documents": len(corpus),
            "rows": [{"mode": m, "variant": v, **s} for m, v, s in rows],
        },
    )
    _plot(rows)


def _plot(rows: list[tuple[str, str, dict[str, float]]]) -> None:
    """Bar chart of nDCG@10: the three shipped modes, and the best variant of each mode, against published figures."""
    bars = [(f"{m}\n(shipped)", s["ndcg@10"]) for m, _, s in rows[:3]]
    for mode in ("bm25", "hybrid"):
        best = max((r for r in rows[3:] if r[0] == mode), key=lambda r: r[2]["ndcg@10"], default=None)
        if best is not None:
            bars.append((f"{mode} best\n" + "\n".join(textwrap.wrap(best[1], 18)), best[2]["ndcg@10"]))

    def draw(ax: object) -> None:
        labels, values = zip(*bars, strict=False)
        ax.bar(range(len(bars)), values, color=["#4c72b0", "#dd8452", "#55a868"] + ["#999999"] * (len(bars) - 3))
        for x, v in enumerate(values):
            ax.text(x, v + 0.005, f"{v:.3f}", ha="center", fontsize=8)
        ax.set_xticks(range(len(bars)), labels, fontsize=7)
        ax.axhline(0.645, ls=":", color="#4c72b0", label="published dense MiniLM (test) 0.645")
        ax.axhline(0.672, ls=":", color="#dd8452", label="published BM25 (test) 0.665-0.679")
        ax.axhline(0.70, ls="--", color="#55a868", label="target hybrid 0.70")
        ax.set_ylim(0.5, max(values) + 0.06)
        ax.legend(fontsize=7, loc="upper left")

    plot("retrieval_ndcg", draw, title="SciFact train (809 queries): nDCG@10 by retrieval mode", ylabel="nDCG@10")


def _variants(
    corpus: list[dict],
    queries: dict[str, str],
    qids: list[str],
    gold: list[dict[str, float]],
    dense: list[Ranking],
    sparse: list[Ranking],
) -> list[tuple[str, str, dict[str, float]]]:
    """The tuning grid: BM25 tokenisation, title, k1/b; RRF constant and weights; score-based fusion."""
    texts = [queries[q] for q in qids]
    rows = []
    for stem, stop in ((False, False), (True, False), (False, True), (True, True)):
        r = bm25_rankings(corpus, texts, k1=bm25.K1, b=bm25.B, stem=stem, stopwords=stop, title=True)
        rows.append(("bm25", f"stem={stem} stopwords={stop}", score(r, gold)))
        print(f"  bm25 stem={stem} stop={stop}: {rows[-1][2]['ndcg@10']:.3f}", file=sys.stderr)
    r = bm25_rankings(corpus, texts, k1=bm25.K1, b=bm25.B, stem=bm25.STEM, stopwords=bm25.STOPWORDS, title=False)
    rows.append(("bm25", "without title", score(r, gold)))
    for k1, b in ((0.9, 0.4), (0.9, 0.75), (1.5, 0.75), (1.2, 0.9), (1.2, 0.5)):
        r = bm25_rankings(corpus, texts, k1=k1, b=b, stem=bm25.STEM, stopwords=bm25.STOPWORDS, title=True)
        rows.append(("bm25", f"k1={k1} b={b}", score(r, gold)))
    for c in (1, 5, 10, 20, 40, 60, 100):
        rows.append(("hybrid", f"RRF c={c}", score(_fused(dense, sparse, lambda d, s: fuse_rrf(d, s, c)), gold)))
    for wd, ws in ((1.0, 2.0), (2.0, 1.0), (1.0, 1.5), (1.5, 1.0)):
        fuse = lambda d, s: fuse_rrf(d, s, DEFAULT_RRF_K, (wd, ws))
        rows.append(
            (
                "hybrid",
                f"RRF c={DEFAULT_RRF_K} weights dense {wd} : bm25 {ws}",
                score(_fused(dense, sparse, fuse), gold),
            )
        )
    for alpha in (0.3, 0.4, 0.5, 0.6, 0.7):
        rows.append(
            (
                "hybrid",
                f"min-max convex, dense weight {alpha}",
                score(_fused(dense, sparse, lambda d, s: convex(d, s, alpha)), gold),
            )
        )
    return rows


if __name__ == "__main__":
    if "--ranking" in sys.argv[1:]:
        from _ranking import main as ranking_main

        ranking_main()
    else:
        main()
