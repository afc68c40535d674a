"""Ranking variants on SciFact, SQuAD2 and CMRC2018: fusion, heading path in the index text, near-duplicate collapse,
the dense leg re-scored by each candidate's best sentence.

Command (from the repo root): `python benchmarks/bench_retrieval.py --ranking [--sets scifact squad2 cmrc2018]`.

Code path: the layers. SciFact abstracts are one unit each ("title\\ntext", as in the main table). SQuAD2 and CMRC2018
passages are Markdown documents ("# title\\n\\ntext") cut by ingest.chunking with the default 200/30, so every chunk
has heading path (title,) and only the first chunk's text holds the title. Dense = exact cosine over built-in
all-minilm vectors (cached by text hash in $RAG_BENCH_CACHE, default /tmp/rag-bench-cache), BM25 = rag.bm25.build;
each leg gives its top max(4 * 10, 20) = 40 to fusion and 10 chunks are kept, as `RAG.evaluate` retrieves them.
Metrics as rag.eval.runner: hit@6 over the files of the first 6 chunks, MRR and nDCG@10 over the files of all 10.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import _common
import numpy as np
from _common import machine, read_jsonl, require, save_json, table

from ingest.chunking import chunk
from ingest.document import Document
from ingest.loaders.markdown import headings, sections_from_headings
from ingest.sentences import sentence_texts
from rag.eval import metrics
from rag.retrieve import bm25
from rag.retrieve.fusion import collapse, rrf, score_fusion, with_best_sentences
from rag.retrieve.text import index_text, is_cjk
from rag.store import sentence_vectors

CACHE = Path(os.environ.get("RAG_BENCH_CACHE", "/tmp/rag-bench-cache"))
RETURNED = 10
DEPTH = max(4 * RETURNED, 20)
K = 6


@dataclass
class Unit:
    id: str
    source: str
    start: int
    end: int
    text: str
    heading_path: tuple[str, ...]


@dataclass
class Dataset:
    name: str
    units: list[Unit]
    queries: list[str]
    gold: list[dict[str, float]]


def embed(texts: list[str], name: str) -> np.ndarray:
    """_common.embed_cached with the cache in CACHE (kept between runs, outside the work tree)."""
    saved = _common.OUT
    _common.OUT = CACHE
    try:
        return _common.embed_cached(texts, name)
    finally:
        _common.OUT = saved


def _scifact() -> Dataset:
    folder = require("scifact", "corpus.jsonl", "queries_train.jsonl", "qrels_train.tsv")
    docs = read_jsonl(folder / "corpus.jsonl")
    units = [Unit(d["_id"], d["_id"], 0, 1, f"{d['title']}\n{d['text']}", ()) for d in docs]
    queries = {q["_id"]: q["text"] for q in read_jsonl(folder / "queries_train.jsonl")}
    qrels: dict[str, dict[str, float]] = defaultdict(dict)
    for line in (folder / "qrels_train.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        if float(score) > 0:
            qrels[qid][doc] = float(score)
    qids = [q for q in qrels if q in queries]
    return Dataset("scifact", units, [queries[q] for q in qids], [qrels[q] for q in qids])


def _passages(name: str) -> Dataset:
    folder = require(name, "corpus.jsonl", "queries.jsonl")
    units = []
    for d in read_jsonl(folder / "corpus.jsonl"):
        text = f"# {d['title']}\n\n{d['text']}\n"
        sections, title = sections_from_headings(headings(text), len(text))
        doc = Document(d["_id"], "markdown", text, "0" * 64, title=title, sections=sections)
        units += [Unit(c.id, c.source, c.char_start, c.char_end, c.text, c.heading_path) for c in chunk(doc)]
    qs = [q for q in read_jsonl(folder / "queries.jsonl") if not q.get("is_impossible") and q.get("gold_doc")]
    return Dataset(name, units, [q["text"] for q in qs], [{q["gold_doc"]: 1.0} for q in qs])


Leg = list[list[tuple[str, float]]]


def legs(ds: Dataset, variant: str) -> tuple[Leg, Leg]:
    """(dense, BM25) top-DEPTH per query, with the chunk text ("plain") or index_text ("heading") indexed."""
    texts = [u.text if variant == "plain" else index_text(u.text, u.heading_path) for u in ds.units]
    vectors = embed(texts, f"{ds.name}_{variant}_units")
    qvec = embed(ds.queries, f"{ds.name}_queries")
    ids = [u.id for u in ds.units]
    dense: Leg = []
    for start in range(0, len(ds.queries), 256):
        scores = qvec[start : start + 256] @ vectors.T
        top = np.argpartition(-scores, DEPTH, axis=1)[:, :DEPTH]
        for row, cand in zip(scores, top, strict=False):
            order = cand[np.argsort(-row[cand], kind="stable")]
            dense.append([(ids[i], float(row[i])) for i in order])
    index = bm25.build((u.id, t, u.source) for u, t in zip(ds.units, texts, strict=False))
    return dense, [index.search(q, DEPTH) for q in ds.queries]


def by_sentences(ds: Dataset, dense: Leg, sparse: Leg, weight: float) -> Leg:
    """The dense leg re-scored by each candidate's best sentence, as the Retriever does it: the shipped sentence
    selection, vectors through the stored int8 form, no re-scoring for a CJK query (all-minilm is English-only)."""
    per_unit = [sentence_texts(u.text) for u in ds.units]
    flat = [t for texts in per_unit for t in texts]
    vectors = embed(flat, f"{ds.name}_unit_sentences") if flat else np.zeros((0, 384), np.float32)
    stored: dict[str, np.ndarray] = {}
    at = 0
    for u, texts in zip(ds.units, per_unit, strict=True):
        if texts:
            rows = sentence_vectors.decode(sentence_vectors.encode(vectors[at : at + len(texts)]))
            if rows is not None:
                stored[u.id] = rows
        at += len(texts)
    qvec = embed(ds.queries, f"{ds.name}_queries")
    out: Leg = []
    for query, q, d, s in zip(ds.queries, qvec, dense, sparse, strict=True):
        if is_cjk(query):
            out.append(d)
            continue
        ids = dict.fromkeys([c for c, _ in d] + [c for c, _ in s])
        out.append(
            with_best_sentences(
                d, [c for c, _ in s], {c: stored[c] for c in ids if c in stored}, q, weight=weight, n=DEPTH
            )
        )
    return out


def evaluate(ds: Dataset, dense: Leg, sparse: Leg, fusion: str, *, collapse_dups: bool) -> dict[str, float]:
    """Mean hit@6, MRR and nDCG@10 for one configuration; `fusion` is "rrf:C", "minmax:W[:CJK_W]" or "zscore:..."."""
    spans = {u.id: (u.source, u.start, u.end) for u in ds.units}
    texts = {u.id: u.text for u in ds.units}
    kind, *params = fusion.split(":")
    hit, rr, ndcg = [], [], []
    for query, d, s, gold in zip(ds.queries, dense, sparse, ds.gold, strict=False):
        if kind == "rrf":
            fused = rrf([[c for c, _ in d], [c for c, _ in s]], int(params[0]))
        else:
            w = float(params[1]) if len(params) > 1 and is_cjk(query) else float(params[0])
            fused = score_fusion(d, s, dense_weight=w, norm="minmax" if kind == "minmax" else "zscore")
        order = [c for c, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]
        top = collapse(order, spans, texts, RETURNED) if collapse_dups else order[:RETURNED]
        sources: list[str | None] = [spans[c][0] for c in top]
        hit.append(metrics.hit_at_k(sources[:K], gold, K))
        rr.append(metrics.reciprocal_rank(sources, gold))
        ndcg.append(metrics.ndcg_at_k(sources, gold, 10))
    return {"hit@6": float(np.mean(hit)), "mrr": float(np.mean(rr)), "ndcg@10": float(np.mean(ndcg))}


FUSIONS = ("rrf:10", *(f"{n}:{w}" for n in ("minmax", "zscore") for w in (0.4, 0.5, 0.55, 0.6)))
SENTENCE_WEIGHTS = (0.3, 0.5, 0.7)
SENTENCE_FUSIONS = ("zscore:0.5:0.2", "zscore:0.55:0.2", "zscore:0.6:0.2")
CJK = ("zscore:0.5:0.5", "zscore:0.5:0.3", "zscore:0.5:0.2", "zscore:0.5:0.1", "zscore:0.5:0.0", "minmax:0.55:0.2")


def main() -> None:
    parser = argparse.ArgumentParser(description="ranking variants on the shared retrieval sets")
    parser.add_argument("--ranking", action="store_true")
    parser.add_argument("--sets", nargs="+", default=["scifact", "squad2", "cmrc2018"])
    args = parser.parse_args()
    print(machine(), file=sys.stderr)
    rows = []
    for name in args.sets:
        ds = _scifact() if name == "scifact" else _passages(name)
        print(f"{name}: {len(ds.units)} units, {len(ds.queries)} queries", file=sys.stderr)
        variants = ("plain",) if name == "scifact" else ("plain", "heading")
        for variant in variants:
            started = time.perf_counter()
            dense, sparse = legs(ds, variant)
            print(f"  {variant} legs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            for leg_name, leg in (("dense", dense), ("bm25", sparse)):
                rows.append((name, variant, leg_name, "-", evaluate(ds, leg, leg, "rrf:10", collapse_dups=False)))
            if variant == "plain":
                for weight in SENTENCE_WEIGHTS:
                    rescored = by_sentences(ds, dense, sparse, weight)
                    for fusion in SENTENCE_FUSIONS:
                        label = f"{fusion} + sentences {weight}"
                        rows.append(
                            (name, variant, label, "on", evaluate(ds, rescored, sparse, fusion, collapse_dups=True))
                        )
                        print(f"  {rows[-1][:4]} {rows[-1][4]}", file=sys.stderr, flush=True)
            fusions = FUSIONS + (CJK if name == "cmrc2018" else ())
            for fusion in dict.fromkeys(fusions):
                for dup in (False, True):
                    rows.append(
                        (
                            name,
                            variant,
                            fusion,
                            "on" if dup else "off",
                            evaluate(ds, dense, sparse, fusion, collapse_dups=dup),
                        )
                    )
                    print(f"  {rows[-1][:4]} {rows[-1][4]}", file=sys.stderr, flush=True)
    print(
        table(
            ["set", "index text", "fusion", "collapse", "hit@6", "MRR", "nDCG@10"],
            [(s, v, f, c, m["hit@6"], m["mrr"], m["ndcg@10"]) for s, v, f, c, m in rows],
        )
    )
    save_json(
        "bench_ranking",
        {
            "machine": machine(),
            "rows": [{"set": s, "index_text": v, "fusion": f, "collapse": c, **m} for s, v, f, c, m in rows],
        },
    )
