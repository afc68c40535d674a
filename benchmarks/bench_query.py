"""Query latency without model time: embed the query, dense search, BM25, fuse, pack the prompt, parse and verify.

Command (from the repo root; no data needed):

    python benchmarks/bench_query.py                 # 10k and 100k chunks
    python benchmarks/bench_query.py --sizes 10000   # one size

Corpus: synthetic. N chunks of ~120 Zipf-distributed pseudo-words (100 chunks per file) written straight into a real
index through the layers (rag.store.catalog.Catalog.commit_files + rag.store.chroma.ChromaStore.upsert, embedded
Chroma), with
random unit vectors as chunk embeddings (no structure for HNSW to exploit: a pessimistic case). Built once per size
under benchmarks/out/query_<N>/ (the first 100k build takes minutes). Queries are 6 words of a random chunk, embedded
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

WORDS_PER_CHUNK = 120
CHUNKS_PER_FILE = 100
FILES_PER_COMMIT = 20
VOCAB = 30_000
QUERIES = 100
WARMUP = 5


def _vocab(rng: np.random.Generator) -> list[str]:
    """VOCAB distinct pseudo-words built from syllables."""
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: dict[str, None] = {}
    while len(words) < VOCAB:
        n = int(rng.integers(1, 4))
        words["".join(rng.choice(syllables, n))] = None
    return list(words)


def _texts(n: int, seed: int = 0) -> list[str]:
    """n chunk texts of WORDS_PER_CHUNK Zipf-distributed words in sentences of 12."""
    rng = np.random.default_rng(seed)
    vocab = np.array(_vocab(rng))
    ranks = np.minimum(rng.zipf(1.1, size=(n, WORDS_PER_CHUNK)) - 1, VOCAB - 1)
    texts = []
    for row in vocab[ranks]:
        sentences = [" ".join(row[i : i + 12]).capitalize() + "." for i in range(0, WORDS_PER_CHUNK, 12)]
        texts.append(" ".join(sentences))
    return texts


def build(n: int, folder: Path) -> None:
    """Write an index of n synthetic chunks into folder (catalog + embedded Chroma + BM25), unless it exists."""
    from ingest.chunking import Chunk
    from rag.config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_TOKENS
    from rag.embed import minilm
    from rag.ollama.models import normalize_model
    from rag.retrieve import bm25
    from rag.store.catalog import Catalog, FileRecord
    from rag.store.chroma import ChromaStore
    from rag.store.layout import layout
    from rag.store.manifest import Manifest

    done = folder / "built.json"
    if done.is_file():
        return
    started = time.perf_counter()
    paths = layout(folder, None, "default")
    folder.mkdir(parents=True, exist_ok=True)
    texts = _texts(n)
    rng = np.random.default_rng(1)
    manifest = Manifest(
        embed_model=normalize_model(minilm.MODEL_NAME),
        dimension=minilm.DIMENSION,
        prefix_scheme=None,
        chunk_tokens=DEFAULT_CHUNK_TOKENS,
        chunk_overlap=DEFAULT_CHUNK_OVERLAP,
        chunker_version="synthetic",
        embed_backend="builtin",
        embed_digest=minilm.digest(),
    )
    store = ChromaStore(folder, None, "default")
    with Catalog(paths.catalog, collection="default") as catalog:
        batch: list[tuple[FileRecord, list[Chunk]]] = []
        for f in range(0, n, CHUNKS_PER_FILE):
            source = f"synthetic/file{f // CHUNKS_PER_FILE:05d}.txt"
            chunks, pos = [], 0
            for ordinal, text in enumerate(texts[f : f + CHUNKS_PER_FILE]):
                chunks.append(
                    Chunk(
                        id=f"{f + ordinal:032x}",
                        text=text,
                        source=source,
                        ordinal=ordinal,
                        char_start=pos,
                        char_end=pos + len(text),
                        page_start=None,
                        page_end=None,
                        heading_path=(),
                        file_sha256="0" * 64,
                    )
                )
                pos += len(text) + 1
            batch.append(
                (
                    FileRecord(
                        source=source,
                        root=str(folder),
                        size=pos,
                        mtime_ns=0,
                        sha256="0" * 64,
                        kind="text",
                        chunks=len(chunks),
                    ),
                    chunks,
                )
            )
            if len(batch) == FILES_PER_COMMIT or f + CHUNKS_PER_FILE >= n:
                every = [c for _, cs in batch for c in cs]
                vectors = rng.standard_normal((len(every), minilm.DIMENSION)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                store.upsert(every, list(vectors), ["text"] * len(every))
                catalog.commit_files(batch, manifest=manifest)
                batch = []
                print(f"\rbuilding {n}: {f + len(chunks)}/{n}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        bm25.load_or_build(catalog, paths.bm25)
    store.write_manifest(manifest)
    done.write_text(json.dumps({"chunks": n, "build_s": time.perf_counter() - started}), encoding="utf-8")


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
        content = json.dumps({"answerable": True, "answer": quote, "citations": [{"id": "S1", "quote": quote}]})
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


def measure(n: int, folder: Path) -> dict[str, Any]:
    """Per-phase and end-to-end latency (ms, p50/p95 over QUERIES queries) on the index in folder."""
    from rag.answer import citations, context, prompts, verify
    from rag.answer.engine import open_query_engine
    from rag.config import DEFAULT_CONTEXT_TOKENS, DEFAULT_RRF_K, DEFAULT_TOP_K, Settings
    from rag.embed import open_embedder
    from rag.eval.metrics import percentile
    from rag.retrieve.hybrid import CANDIDATES_PER_K, MIN_CANDIDATES, rrf
    from rag.store.catalog import Catalog
    from rag.store.chroma import ChromaStore
    from rag.store.layout import layout

    rng = np.random.default_rng(2)
    texts = _texts(min(n, 5000))
    queries = [
        " ".join(rng.choice(texts[int(rng.integers(len(texts)))].rstrip(".").split(), 6))
        for _ in range(QUERIES + WARMUP)
    ]
    # min_score 0: random chunk vectors sit under the abstention floor, and an abstention would skip the answer path
    settings = Settings.resolve(index_dir=folder, embed_backend="builtin", chat_model="instant", min_score=0.0)
    engine = open_query_engine(settings, _InstantChat())
    paths = layout(folder, None, "default")
    store = ChromaStore(folder, None, "default", create=False)
    catalog = Catalog(paths.catalog, create=False, collection="default")
    embedder = open_embedder("all-minilm", "builtin", None)
    index = engine.retriever.bm25()
    depth = max(CANDIDATES_PER_K * DEFAULT_TOP_K, MIN_CANDIDATES)
    phases: dict[str, list[float]] = {
        k: [] for k in ("embed", "dense", "bm25", "fuse+fetch", "pack prompt", "verify", "retrieve", "ask (no model)")
    }
    for i, q in enumerate(queries):
        vec, t_embed = _ms(lambda: embedder.embed_query(q))
        dense, t_dense = _ms(lambda: store.query(vec, depth))
        sparse, t_bm25 = _ms(lambda: index.search(q, depth))
        fused, t_fuse = _ms(
            lambda: catalog.get_chunks(rrf([[c for c, _ in dense], [c for c, _ in sparse]], DEFAULT_RRF_K))
        )
        hits, t_retrieve = _ms(lambda: engine.retrieve(q, k=DEFAULT_TOP_K))
        _, t_pack = _ms(
            lambda: (
                prompts.answer_schema(citations.source_ids(hits))
                and context.format_sources(context.pack_context(hits, DEFAULT_CONTEXT_TOKENS))
            )
        )
        quote = hits[0].text.split(". ")[0] if hits else q
        _, t_verify = _ms(lambda: [verify.verify_quote(quote, h.text) for h in hits[:3]])
        ans, t_ask = _ms(lambda: engine.ask(q, k=DEFAULT_TOP_K))
        assert ans.mode == "generative", ans.warnings
        if i >= WARMUP:
            for name, value in zip(
                phases, (t_embed, t_dense, t_bm25, t_fuse, t_pack, t_verify, t_retrieve, t_ask), strict=False
            ):
                phases[name].append(value)
    engine.close()
    catalog.close()
    return {
        "chunks": n,
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
        print(json.dumps(measure(args.measure, OUT / f"query_{args.measure}")))
        return
    results = []
    for n in args.sizes:
        build(n, OUT / f"query_{n}")
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
