"""`rag serve` under concurrent clients: requests served, errors, latency p50/p95, and the server's overhead over
calling `RAG.ask` in-process at the same concurrency.

    python benchmarks/bench_serve.py [--seconds 60] [--clients 8]

Two runs on the shipped sample_docs (indexed with the built-in all-minilm, so no Ollama is needed to embed):
extractive answers (`chat_model="none"`), and generative answers from the fake Ollama of the tests with 1 s added
to every chat call. Each run measures in-process `RAG.ask` from N threads, then `POST /v1/ask` from N clients (one
httpx connection each) against uvicorn on 127.0.0.1, for the same duration and questions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from _common import REPO

from rag import RAG
from support.ollama_server import FakeOllama
from support.server import RunningServer


def questions() -> list[str]:
    import json

    lines = (REPO / "sample_docs" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def hammer(call: Callable[[str], None], asks: list[str], clients: int, seconds: float) -> dict[str, float]:
    """`clients` threads calling `call(question)` in a loop for `seconds`; counts, errors and latency (ms)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(n: int) -> None:
        start.wait()
        i = n
        while time.monotonic() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                call(asks[i % len(asks)])
            except Exception as exc:
                errors[n] += 1
                print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            latencies[n].append((time.perf_counter() - t0) * 1000)
            i += clients

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    start.wait()
    for t in threads:
        t.join()
    flat = sorted(x for xs in latencies for x in xs)
    return {
        "requests": len(flat),
        "errors": sum(errors),
        "p50": statistics.median(flat),
        "p95": flat[int(0.95 * (len(flat) - 1))],
        "rps": len(flat) / seconds,
    }


def http_hammer(url: str, clients: int, seconds: float) -> dict[str, float]:
    """`hammer` over HTTP, one keep-alive connection per client thread."""
    asks = questions()
    pool = threading.local()

    def over_http(q: str) -> None:
        if not hasattr(pool, "client"):
            pool.client = httpx.Client(base_url=url, timeout=120)
        reply = pool.client.post("/v1/ask", json={"question": q})
        reply.raise_for_status()
        assert reply.json()["question"] == q

    for q in asks[:3]:
        over_http(q)
    return hammer(over_http, asks, clients, seconds)


def remote_hammer(url: str, clients: int, seconds: float) -> dict[str, float]:
    """`http_hammer` in a separate process, so the clients do not share the server's interpreter lock."""
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, __file__, "--client", url, "--clients", str(clients), "--seconds", str(seconds)],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds * 3 + 300,
    )
    return json.loads(done.stdout.splitlines()[-1])


def run(name: str, rag: RAG, asks: list[str], clients: int, seconds: float) -> list[tuple[str, dict[str, float]]]:
    for q in asks[:3]:
        rag.ask(q)  # warm: models loaded, BM25 read
    local = hammer(lambda q: (rag.ask(q), None)[1], asks, clients, seconds)
    with RunningServer(rag) as server:
        served = remote_hammer(server.url, clients, seconds)
    return [(f"{name}, in-process RAG.ask", local), (f"{name}, rag serve POST /v1/ask", served)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--client", metavar="URL", help="internal: be the load generator for a server at URL")
    args = parser.parse_args()
    if args.client:
        import json

        print(json.dumps(http_hammer(args.client, args.clients, args.seconds)))
        return
    asks = questions()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        with RAG(index, embed_backend="builtin", chat_model="none") as rag:
            report = rag.index(REPO / "sample_docs")
            assert report.error is None, report.error
            rows += run("extractive, 1 client", rag, asks, 1, args.seconds)
            rows += run(f"extractive, {args.clients} clients", rag, asks, args.clients, args.seconds)
        with (
            FakeOllama() as fake,
            RAG(index, embed_backend="builtin", chat_model="llama3.2", ollama_host=fake.url, min_score=0.0) as rag,
        ):
            rag.ask(asks[0])
            fake.latency = 1.0
            rows += run(f"chat +1 s (fake Ollama), {args.clients} clients", rag, asks, args.clients, args.seconds)
    print(f"{args.seconds:g} s per row, {len(asks)} sample_docs questions\n")
    print("| run | requests | errors | req/s | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    for label, r in rows:
        print(
            f"| {label} | {r['requests']:.0f} | {r['errors']:.0f} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} |"
        )
    for i in range(0, len(rows), 2):
        local, served = rows[i][1], rows[i + 1][1]
        print(
            f"\n{rows[i][0].rsplit(',', 1)[0]}: server overhead p50 {served['p50'] - local['p50']:+.1f} ms "
            f"(x{served['p50'] / local['p50']:.2f}), p95 {served['p95'] - local['p95']:+.1f} ms"
        )


if __name__ == "__main__":
    main()
