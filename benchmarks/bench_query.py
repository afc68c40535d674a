"""Query latency without model time: embed the query, dense search, BM25, fuse, pack the prompt, parse and verify.

Command (from the repo root; no data needed):

    python benchmarks/bench_query.py                 # 10k and 100k chunks
    python benchmarks/bench_query.py --sizes 10000   # one size

Corpus: synthetic. N chunks of ~120 Zipf-distributed pseudo-words (100 chunks per file) written straight into a real
index through the layers (rag.store.catalog.Catalog.commit_files + rag.store.chroma.ChromaStore.upsert, embedded
Chroma), with
random unit vectors as chunk embeddings (no structure for HNSW to exploit: a pessimistic case) and SENTENCES random
sentence vectors per chunk. Built once per size under benchmarks/out/query_<N>_s<SENTENCES>/ (the first 100k build
takes minutes). Queries are 6 words of a random chunk, embedded
for real with the built-in all-minilm. Each size is then measured in a fresh process (so peak RSS is the query
side only) through RAG.ask with a chat backend that replies instantly with a schema-valid answer quoting the first
source: everything rag does for a question except the model's own time. Per-phase times use the same modules'
public functions on the same queries.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from _common import OUT, machine, peak_rss_mib, plot, save_json, table
from _synthetic import build, texts

QUERIES = 100
SENTENCES = 5
"""Sentence vectors stored per synthetic chunk (SQuAD2's 200-token chunks hold ~4.9 on average)."""
WARMUP = 5


class _InstantChat:
    """A chat backend that answers at once: valid JSON quoting the first sentence of source S1."""

    host = "instant"

    def is_reachable(self) -> bool:
        return True

    def show(self, model: str) -> Any:
        return SimpleNamespace(context_length=8192)

    def chat(self, model: str, messages: list[dict[str, str]], **kwargs: Any) -> Any:
        context = messages[-1]["content"]
        after = context[context.index("[S1]") :].split("\n", 2)[1]
        quote = after.split(". ")[0]
        content = json.dumps({"citations": [{"id": "S1", "quote": quote, "claim": quote}], "answerable": True})
        return SimpleNamespace(
            message=SimpleNamespace(content=content),
            done=True,
            done_reason="stop",
            prompt_tokens=None,
            eval_tokens=None,
            model_ms=None,
            load_ms=None,
            prompt_eval_ms=None,
            eval_ms=None,
        )


def _ms(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - start) * 1000


def measure(n: int, folder: Path, *, dense: bool = True) -> dict[str, Any]:
    """Per-phase and end-to-end latency (ms, p50/p95 over QUERIES queries) on the index in folder. `dense=False`:
    Chroma is never opened and retrieval is BM25 alone, the query still embedded: the share of the process a reader
    on the Chroma-server path holds itself (the server keeps the vectors and the graph)."""
    from rag.answer import citations, context, prompts, verify
    from rag.answer.engine import open_query_engine
    from rag.config import DEFAULT_CONTEXT_TOKENS, DEFAULT_RRF_K, DEFAULT_TOP_K, Settings
    from rag.embed import open_embedder
    from rag.eval.metrics import percentile
    from rag.retrieve.fusion import with_best_sentences
    from rag.retrieve.hybrid import CANDIDATES_PER_K, MIN_CANDIDATES, rrf
    from rag.store.catalog import Catalog
    from rag.store.chroma import ChromaStore
    from rag.store.layout import layout

    rng = np.random.default_rng(2)
    corpus = texts(min(n, 5000))
    queries = [
        " ".join(rng.choice(corpus[int(rng.integers(len(corpus)))].rstrip(".").split(), 6))
        for _ in range(QUERIES + WARMUP)
    ]
    # min_score 0: random chunk vectors sit under the abstention floor, and an abstention would skip the answer path
    settings = Settings.resolve(index_dir=folder, embed_backend="builtin", chat_model="instant", min_score=0.0)
    engine = open_query_engine(settings, _InstantChat())
    paths = layout(folder, None, "default")
    store = ChromaStore(folder, None, "default", create=False) if dense else None
    mode = "hybrid" if dense else "bm25"
    catalog = Catalog(paths.catalog, create=False, collection="default")
    embedder = open_embedder("all-minilm", "builtin", None)
    index = engine.retriever.bm25()
    depth = max(CANDIDATES_PER_K * DEFAULT_TOP_K, MIN_CANDIDATES)
    phases: dict[str, list[float]] = {
        k: []
        for k in (
            "embed",
            "dense",
            "bm25",
            "sentence vectors",
            "fuse+fetch",
            "pack prompt",
            "verify",
            "retrieve",
            "ask (no model)",
        )
    }
    for i, q in enumerate(queries):
        vec, t_embed = _ms(lambda: embedder.embed_query(q))
        found, t_dense = _ms(lambda: store.query(vec, depth) if store is not None else [])
        sparse, t_bm25 = _ms(lambda: index.search(q, depth))
        _, t_sentences = _ms(
            lambda: (
                with_best_sentences(
                    [(c, 1.0 - d) for c, d in found],
                    [c for c, _ in sparse],
                    catalog.sentence_vectors(dict.fromkeys([c for c, _ in found] + [c for c, _ in sparse]), len(vec)),
                    vec,
                    weight=0.5,
                    n=depth,
                )
                if store is not None
                else None
            )
        )
        fused, t_fuse = _ms(
            lambda: catalog.get_chunks(rrf([[c for c, _ in found], [c for c, _ in sparse]], DEFAULT_RRF_K))
        )
        hits, t_retrieve = _ms(lambda: engine.retrieve(q, k=DEFAULT_TOP_K, mode=mode))
        _, t_pack = _ms(
            lambda: (
                prompts.answer_schema(citations.source_ids(hits))
                and context.format_sources(context.pack_context(hits, DEFAULT_CONTEXT_TOKENS))
            )
        )
        quote = hits[0].text.split(". ")[0] if hits else q
        _, t_verify = _ms(lambda: [verify.verify_quote(quote, h.text) for h in hits[:3]])
        ans, t_ask = _ms(lambda: engine.ask(q, k=DEFAULT_TOP_K, mode=mode))
        assert ans.mode == "generative", ans.warnings
        if i >= WARMUP:
            for name, value in zip(
                phases,
                (t_embed, t_dense, t_bm25, t_sentences, t_fuse, t_pack, t_verify, t_retrieve, t_ask),
                strict=False,
            ):
                phases[name].append(value)
    engine.close()
    catalog.close()
    return {
        "chunks": n,
        "dense": dense,
        "rss_mib": peak_rss_mib(),
        "phases": {k: {"p50": percentile(v, 50), "p95": percentile(v, 95)} for k, v in phases.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)  # child process: measure one built size
    args = parser.parse_args()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if args.measure:
        print(json.dumps(measure(args.measure, OUT / f"query_{args.measure}_s{SENTENCES}")))
        return
    results = []
    for n in args.sizes:
        build(n, OUT / f"query_{n}_s{SENTENCES}", sentences=SENTENCES)
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(n)], check=True, capture_output=True, text=True
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    names = list(results[0]["phases"])
    print(f"Query latency without model time, ms p50 / p95 ({QUERIES} queries, k=6; {machine()})")
    print(
        table(
            ["phase", *(f"{r['chunks']:,} chunks" for r in results)],
            [
                (name, *(f"{r['phases'][name]['p50']:.1f} / {r['phases'][name]['p95']:.1f}" for r in results))
                for name in names
            ]
            + [("peak RSS MiB", *(f"{r['rss_mib']:.0f}" for r in results))],
        )
    )
    save_json("bench_query", {"machine": machine(), "results": results})
    _plot(results)


def _plot(results: list[dict[str, Any]]) -> None:
    """Grouped bars: p50 per phase at each corpus size, with the 30 ms target."""
    names = list(results[0]["phases"])

    def draw(ax: Any) -> None:
        width = 0.8 / len(results)
        for i, r in enumerate(results):
            xs = [x + i * width for x in range(len(names))]
            ax.bar(xs, [r["phases"][n]["p50"] for n in names], width, label=f"{r['chunks']:,} chunks")
        ax.set_xticks([x + width * (len(results) - 1) / 2 for x in range(len(names))], names, fontsize=7, rotation=20)
        ax.axhline(30, ls="--", color="red", label="target p50 30 ms (ask without model)")
        ax.legend(fontsize=7)

    plot("query_latency", draw, title="Query latency p50 by phase and corpus size (no model time)", ylabel="ms")


if __name__ == "__main__":
    main()
