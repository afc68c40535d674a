"""Built-in embedder throughput: the pipeline (BuiltinEmbedder.embed_documents) against the bare ONNX session.

Command (from the repo root; SciFact text when ../shared/eval/scifact is present, else generated words):

    python benchmarks/bench_embed.py                 # 256 chunks of ~200 tokens, 3 interleaved rounds
    python benchmarks/bench_embed.py --texts 128 --rounds 5
    python benchmarks/bench_embed.py --query-sessions   # query latency by session threads and spinning, then exit

Bare = one onnxruntime session with the same options as rag.embed.minilm (one intra-op thread), run from as many
threads as there are cores, fed pre-tokenised, pre-padded int64 arrays in batches of B (every B measured; the best
is "bare"): the model's own cost, on the model the pipeline runs (the int8 form, rag.embed.quantized). Also
measured: the same bare sessions on the pinned file's float32 path (what the pipeline ran before the int8 form).
Pipeline = what indexing runs: BuiltinEmbedder.embed_documents over groups of 64 texts (tokenise with the batch
encoder, sort by length, pad per batch, run, mean-pool, normalise). Rounds interleave bare and pipeline so both see
the same background load; the median round is reported. Query latency: embed_query on 100 short questions. On a
busy machine the wall-clock ratio is noise; the CPU share of the calling thread outside session.run is not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _common import EVAL_DIR, machine, read_jsonl, save_json, table

from rag.embed import BuiltinEmbedder, minilm

GROUP = 64
"""Texts per embed_documents call (DEFAULT_EMBED_BATCH x DEFAULT_EMBED_IN_FLIGHT, the indexer's group)."""
TOKENS = 200
QUERY_WORDS = "alpha beta gamma delta vector index chunk query retrieval embedding token server answer model"
"""Words the --query-sessions questions are made of."""


def _texts(n: int, model: minilm.MiniLM) -> list[str]:
    """n texts of about TOKENS model tokens each: SciFact abstracts cut at token boundaries, else generated words."""
    path = EVAL_DIR / "scifact" / "corpus.jsonl"
    if path.is_file():
        words = " ".join(d["text"] for _, d in zip(range(2000), read_jsonl(path), strict=False)).split()
    else:
        rng = np.random.default_rng(0)
        vocab = ["model", "vector", "index", "chunk", "query", "retrieval", "embedding", "token", "server", "answer"]
        words = [str(w) for w in rng.choice(vocab, 200 * n)]
    out, pos = [], 0
    while len(out) < n and pos < len(words):
        lo, hi = 60, 220  # words; bisect to the cut whose token count is closest to TOKENS
        while lo < hi:
            mid = (lo + hi) // 2
            if model.count_tokens(" ".join(words[pos : pos + mid])) < TOKENS:
                lo = mid + 1
            else:
                hi = mid
        out.append(" ".join(words[pos : pos + lo]))
        pos += lo
    return out


def _bare_session(threads: int = 0, spin: bool = False, path: object = None) -> object:
    """A session like rag.embed.minilm's on `path` (default: the model the pipeline runs)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or minilm._cores()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3
    path = path or minilm.load().path
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _bare(session: object, ids: list[list[int]], batch: int, callers: int) -> float:
    """Seconds for the session alone over pre-padded batches (padding to each batch's longest), `callers` at once."""
    feeds = []
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        width = max(map(len, part))
        x = np.zeros((len(part), width), dtype=np.int64)
        m = np.zeros_like(x)
        for r, row in enumerate(part):
            x[r, : len(row)], m[r, : len(row)] = row, 1
        feeds.append({"input_ids": x, "attention_mask": m, "token_type_ids": np.zeros_like(x)})

    def run(feed: dict[str, np.ndarray]) -> object:
        return session.run(["last_hidden_state"], feed)  # type: ignore[attr-defined]

    with ThreadPoolExecutor(max_workers=callers) as pool:
        started = time.perf_counter()
        list(pool.map(run, feeds))
        return time.perf_counter() - started


def _pipeline(embedder: BuiltinEmbedder, texts: list[str]) -> float:
    started = time.perf_counter()
    for start in range(0, len(texts), GROUP):
        embedder.embed_documents(texts[start : start + GROUP])
    return time.perf_counter() - started


def _overhead(texts: list[str]) -> float:
    """Share of the calling thread's CPU time in MiniLM.embed spent outside session.run (tokenise, pad, pool):
    independent of background load, unlike wall-clock ratios."""
    model = minilm.MiniLM(minilm.load().path, minilm.model_files()[1], threads=1)  # all on this thread: CPU = cost
    session = model._session
    spent = {"run": 0.0}

    class _Timed:
        def run(self, *args: object, **kwargs: object) -> object:
            started = time.thread_time()
            try:
                return session.run(*args, **kwargs)  # type: ignore[arg-type]
            finally:
                spent["run"] += time.thread_time() - started

    model._session = _Timed()  # type: ignore[assignment]
    try:
        started = time.thread_time()
        model.embed(texts)
        total = time.thread_time() - started
    finally:
        model._session = session
    return (total - spent["run"]) / total


def _questions() -> dict[str, list[str]]:
    """Two query lengths: ~10 tokens (the default run's questions) and ~15 tokens."""
    words = QUERY_WORDS.split()
    return {
        "short": [f"What does study {i} say about {words[i % len(words)]}?" for i in range(100)],
        "long": [f"What does the {w} endpoint return when {v} is set?" for w in words[:10] for v in words[4:14]],
    }


def _query_sessions(rounds: int) -> None:
    """Query embedding p50/p95 and CPU per query for session configurations, rounds interleaved; then two threads
    embedding at once (queries/s), as a server answering two requests would."""
    files = minilm.model_files()
    configs = {
        "shipped (1 thread)": (1, False),
        "cores, no spinning (before)": (0, False),
        "cores, spinning": (0, True),
    }
    models = {}
    for name, (threads, spin) in configs.items():
        models[name] = minilm.MiniLM(*files, threads=threads or None)
        models[name]._session = _bare_session(threads, spin)  # type: ignore[assignment]
    rows: list[tuple] = []
    record: dict[str, dict[str, float]] = {}
    for length, questions in _questions().items():
        ms: dict[str, list[float]] = {name: [] for name in configs}
        cpu = dict.fromkeys(configs, 0.0)
        for _ in range(rounds):
            for name, model in models.items():
                model.embed(questions[:1])
                started_cpu = time.process_time()
                for q in questions:
                    started = time.perf_counter()
                    model.embed([q])
                    ms[name].append((time.perf_counter() - started) * 1000)
                cpu[name] += time.process_time() - started_cpu
        for name, values in ms.items():
            p50, p95 = float(np.percentile(values, 50)), float(np.percentile(values, 95))
            rows.append((length, name, p50, p95, cpu[name] * 1000 / len(values)))
            record[f"{length}/{name}"] = {"p50": p50, "p95": p95}
    print(table(["questions", "session", "p50 ms", "p95 ms", "CPU ms per query"], rows))
    for name, model in models.items():
        questions = _questions()["long"]

        def work(m: minilm.MiniLM = model, qs: list[str] = questions) -> None:
            for q in qs:
                m.embed([q])

        callers = [threading.Thread(target=work) for _ in range(2)]
        started = time.perf_counter()
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        rate = 2 * len(questions) / (time.perf_counter() - started)
        record[f"concurrent/{name}"] = {"queries_per_s": rate}
        print(f"two callers at once, {name}: {rate:.0f} queries/s")
    save_json("bench_embed_query_sessions", {"machine": machine(), "rounds": rounds, "results": record})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--query-sessions", action="store_true", help="compare query sessions, then exit")
    args = parser.parse_args()
    if args.query_sessions:
        _query_sessions(args.rounds)
        return
    embedder = BuiltinEmbedder()
    model = minilm.load()
    texts = _texts(args.texts, model)
    ids = sorted(model.token_ids(texts), key=len)
    lengths = [len(i) for i in ids]
    print(
        f"{len(texts)} texts, tokens mean {np.mean(lengths):.0f} (min {min(lengths)}, max {max(lengths)}); {machine()}",
        file=sys.stderr,
    )
    session, before = _bare_session(1), _bare_session(1, path=minilm.model_files()[0])
    print(f"pipeline model: {model.path.name}", file=sys.stderr)
    cores = minilm._cores()
    _bare(session, ids[:8], 1, cores), _bare(before, ids[:8], 1, cores), _pipeline(embedder, texts[:8])  # warm-up
    bare: dict[int, list[float]] = {b: [] for b in args.batches}
    one_session: list[float] = []
    pipe: list[float] = []
    for r in range(args.rounds):
        for b in args.batches:
            bare[b].append(len(ids) / _bare(session, ids, b, cores))
        one_session.append(len(ids) / _bare(before, ids, 1, cores))
        pipe.append(len(texts) / _pipeline(embedder, texts))
        print(
            f"round {r + 1}: bare {[round(v[-1], 1) for v in bare.values()]} /s, float32 path "
            f"{one_session[-1]:.1f} /s, pipeline {pipe[-1]:.1f} /s",
            file=sys.stderr,
            flush=True,
        )
    best_b = max(bare, key=lambda b: statistics.median(bare[b]))
    best = statistics.median(bare[best_b])
    questions = [f"What does study {i} say about {w}?" for i, w in enumerate(texts[0].split()[:100])]
    embedder.embed_query(questions[0])
    query_ms = []
    for q in questions:
        started = time.perf_counter()
        embedder.embed_query(q)
        query_ms.append((time.perf_counter() - started) * 1000)
    rows = [
        (f"bare 1-thread session, {cores} callers, batch {b}", statistics.median(v), statistics.median(v) / best)
        for b, v in bare.items()
    ]
    rows.append(
        (
            f"bare float32 path (the pinned file as it is, before), {cores} callers, batch 1",
            statistics.median(one_session),
            statistics.median(one_session) / best,
        )
    )
    rows.append(("pipeline (embed_documents)", statistics.median(pipe), statistics.median(pipe) / best))
    print(table(["path", "chunks/s (median round)", "ratio to best bare"], rows))
    overhead = _overhead(texts)
    print(f"\nCPU share of the calling thread outside session.run in MiniLM.embed: {overhead:.2%}")
    p50, p95 = np.percentile(query_ms, 50), np.percentile(query_ms, 95)
    print(f"\nquery embedding: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(questions)} questions)")
    save_json(
        "bench_embed",
        {
            "machine": machine(),
            "tokens_mean": float(np.mean(lengths)),
            "bare": bare,
            "float32_before": one_session,
            "pipeline_model": model.path.name,
            "pipeline": pipe,
            "query_ms_p50": p50,
            "query_ms_p95": p95,
            "overhead_cpu_share": overhead,
            "batch_tokens": minilm.BATCH_TOKENS,
        },
    )


if __name__ == "__main__":
    main()
