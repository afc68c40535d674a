"""Chunk size, overlap and k: retrieval hit@k / MRR against prompt size, through the whole index path.

Command (from the repo root; needs ../shared/eval/squad2, ../shared/eval/cmrc2018 and ../shared/eval/ollama_docs):

    python benchmarks/bench_chunking.py                       # sizes 100/150/200/250 x overlaps 0/30 (10-20 minutes)
    python benchmarks/bench_chunking.py --sizes 200 --overlaps 30 --squad 200   # one setting, quick
    python benchmarks/bench_chunking.py --plot-only                           # redraw the plot from the last run

Code path: for every (size, overlap), each corpus is indexed from scratch with RAG.index into
benchmarks/out/chunking/ (built-in all-minilm embedder, chunk_tokens/chunk_overlap set; chunks over the model's 256
wordpieces are split again by the indexer, as in production) and queried with RAG.retrieve (hybrid, shipped RRF
constant). Corpora: SQuAD2 and CMRC2018 passages written as one .txt file each (as bench_qa.py does); questions: a
seeded sample of --squad answerable SQuAD2 questions and every CMRC2018 question, gold = the source passage. Because
those passages are short (SQuAD ~120-200 words), two sets cover long documents: squad2_articles, the same SQuAD2
passages joined back into their 8 articles (one Markdown file each, ~4,800 words) with the same questions, where a hit
needs a retrieved chunk of the right article that contains a gold answer (normalised as `rag eval` does); and
ollama_docs/en/docs (14 Markdown files, 15k words) with the 24 hand-written QUESTIONS below, where a hit needs a
retrieved chunk of the right file that contains the given phrase.

Each question is retrieved at k = 4, 6, 8 and 10 (the retriever's candidate depth grows with k, so each k is its own
call; k = 3 is the first 3 of the k = 4 call, whose candidates are the same); its query vector is memoised across
those calls. hit@k: a gold passage (long-document sets: an answer- or phrase-bearing chunk) among the first k chunks;
MRR: over the k = 10 list, by distinct document for SQuAD2/CMRC2018 (as `rag eval`), by chunk for the long-document
sets. Prompt cost: estimated tokens of the context `rag.answer.types.pack_context` packs from the first k hits (the
DEFAULT_CONTEXT_TOKENS budget, 12 tokens of header per chunk). Raw results: benchmarks/out/bench_chunking.json; plot:
benchmarks/plots/chunking_hit_at_k.png.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _common import OUT, PLOTS, machine, read_jsonl, require, save_json, table
from bench_qa import _items, _write_corpus

from ingest import estimate_tokens
from rag import RAG
from rag.answer.context import pack_context
from rag.config import DEFAULT_CONTEXT_TOKENS
from rag.eval.metrics import contains_answer, dedupe, match_source, mean

KS = (3, 4, 6, 8, 10)
CALLS = (4, 6, 8, 10)
"""k values actually asked of the retriever (k = 3 is the prefix of the k = 4 call: both fuse 20 candidates)."""

QUESTIONS = (
    ("How do I change the context window size the model uses?", "faq.md", "num_ctx"),
    ("Where does Ollama store downloaded models, and how can I use another directory?", "faq.md", "OLLAMA_MODELS"),
    ("How can I keep models loaded in memory for longer for every request?", "faq.md", "OLLAMA_KEEP_ALIVE"),
    ("How many requests does the server queue before it starts rejecting them?", "faq.md", "The default is 512"),
    ("How can I reduce the memory the K/V context cache uses?", "faq.md", "OLLAMA_KV_CACHE_TYPE"),
    ("How do I restrict Ollama to only some of my NVIDIA GPUs?", "gpu.md", "CUDA_VISIBLE_DEVICES"),
    (
        "My Radeon card is not supported; can I make ROCm treat it as a similar LLVM target?",
        "gpu.md",
        "HSA_OVERRIDE_GFX_VERSION",
    ),
    ("How do I quantize a float16 model to Q4_K_M when creating it through the REST API?", "api.md", "q4_K_M"),
    ("How do I unload a model from memory with the chat endpoint?", "api.md", "If the messages array is empty"),
    (
        "How do I apply a fine-tuned safetensors adapter in a Modelfile?",
        "import.md",
        "ADAPTER /path/to/safetensors/adapter/directory",
    ),
    (
        "How can I see the server logs on Linux when Ollama runs as a systemd service?",
        "troubleshooting.md",
        "journalctl",
    ),
    (
        "What is the default temperature of a model and which Modelfile parameter changes it?",
        "modelfile.md",
        "(Default: 0.8)",
    ),
    ("Can I get embeddings through the OpenAI compatible API?", "openai.md", "/v1/embeddings"),
    (
        "How do I install Ollama on Windows somewhere other than my home directory?",
        "windows.md",
        "OllamaSetup.exe /DIR=",
    ),
    (
        "My temp directory is mounted noexec; where else can Ollama put its temporary executables?",
        "troubleshooting.md",
        "OLLAMA_TMPDIR",
    ),
    ("How do I install a specific or pre-release version of Ollama on Linux?", "linux.md", "OLLAMA_VERSION=0.3.9"),
    ("How do I run the Ollama Docker container on an AMD GPU?", "docker.md", "ollama/ollama:rocm"),
    (
        "How can I bypass library autodetection and force the CPU AVX2 build?",
        "troubleshooting.md",
        'OLLAMA_LLM_LIBRARY="cpu_avx2"',
    ),
    ("How do I get reproducible outputs from the generate endpoint?", "api.md", '"seed": 123'),
    ("How do I send a prompt without the model's template being applied?", "api.md", '"raw": true'),
    ("What template does an imported model get by default?", "template.md", "user inputs are sent verbatim"),
    ("How do I turn on Flash Attention to save memory?", "faq.md", "OLLAMA_FLASH_ATTENTION"),
    (
        "Which Modelfile parameter limits how many tokens are generated?",
        "modelfile.md",
        "Maximum number of tokens to predict",
    ),
    ("Which NVIDIA GPUs are supported?", "gpu.md", "compute capability 5.0"),
)
"""(question, file, phrase): a hit needs a retrieved chunk from `file` whose text contains `phrase`."""


def _memoise_query_vectors(rag: RAG) -> None:
    """Embed each distinct question once across the per-k retrieve calls (same text, same vector)."""
    retriever = rag._query_engine.retriever
    embed = getattr(retriever, "_embed_query", None)
    if embed is not None:
        retriever._embed_query = functools.lru_cache(maxsize=None)(embed)


def _index(folder: Path, index_dir: Path, size: int, overlap: int) -> tuple[float, int]:
    """Fresh index of `folder`; (seconds, chunks)."""
    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    with RAG(index_dir, embed_backend="builtin", chat_model="none", chunk_tokens=size, chunk_overlap=overlap) as rag:
        report = rag.index(folder)
    if report.error:
        raise SystemExit(f"indexing {folder} failed: {report.error}")
    return time.perf_counter() - started, report.chunks_added


def _score(index_dir: Path, questions: list[tuple[str, object]], hit: Callable) -> dict:
    """Per-k hit rate and prompt tokens, and MRR at 10, for `questions` [(text, gold)] under `hit(hits, gold)`.

    `hit(hits, gold)` returns the 1-based rank of the first relevant entry (distinct doc or chunk) or None."""
    hits_at = {k: [] for k in KS}
    tokens_at = {k: [] for k in KS}
    rr = []
    with RAG(index_dir, embed_backend="builtin", chat_model="none") as rag:
        rag.retrieve(questions[0][0], k=4)  # load the embedder and open the store before anything is counted
        _memoise_query_vectors(rag)
        for text, gold in questions:
            for call in CALLS:
                hits = rag.retrieve(text, k=call)
                for k in (3, 4) if call == 4 else (call,):
                    hits_at[k].append(hit(hits[:k], gold) is not None)
                    packed = pack_context(hits[:k], DEFAULT_CONTEXT_TOKENS)
                    tokens_at[k].append(sum(estimate_tokens(h.text) + 12 for h in packed))
            rank = hit(hits, gold)
            rr.append(1.0 / rank if rank else 0.0)
    return {
        "questions": len(questions),
        "hit": {k: mean(v) for k, v in hits_at.items()},
        "prompt_tokens": {k: mean(v) for k, v in tokens_at.items()},
        "mrr": mean(rr),
    }


def _doc_rank(hits, gold: str) -> int | None:
    """Rank among distinct retrieved documents of the gold passage."""
    for rank, source in enumerate(dedupe(h.source for h in hits), start=1):
        if source is not None and match_source(source, [gold]):
            return rank
    return None


def _phrase_rank(hits, gold: tuple[str, str]) -> int | None:
    """Rank of the first chunk from the gold file that contains the phrase."""
    file, phrase = gold
    for rank, h in enumerate(hits, start=1):
        if (h.source == file or h.source.endswith("/" + file)) and phrase.casefold() in h.text.casefold():
            return rank
    return None


def _answer_rank(hits, gold: tuple[str, tuple[str, ...]]) -> int | None:
    """Rank of the first chunk from the gold file that contains a gold answer (normalised, as `rag eval`)."""
    file, answers = gold
    for rank, h in enumerate(hits, start=1):
        if match_source(h.source, [file]) and contains_answer(h.text, answers):
            return rank
    return None


def _write_articles(folder: Path) -> Path:
    """SQuAD2 passages joined back into their articles (one Markdown file each, paragraphs in order)."""
    out = OUT / "chunking" / "squad2_articles"
    out.mkdir(parents=True, exist_ok=True)
    articles: dict[str, list[dict]] = {}
    for doc in read_jsonl(folder / "corpus.jsonl"):
        articles.setdefault(doc["_id"].split("-")[0], []).append(doc)
    for article, docs in articles.items():
        docs.sort(key=lambda d: int(d["_id"].split("-")[1]))
        body = "\n\n".join(d["text"] for d in docs)
        (out / f"{article}.md").write_text(f"# {docs[0].get('title', '')}\n\n{body}\n", encoding="utf-8")
    return out


def _sets(squad_sample: int) -> dict[str, tuple[Path, list[tuple[str, object]], Callable]]:
    """name -> (folder to index, [(question, gold)], rank function)."""
    sets = {}
    for name in ("squad2", "cmrc2018"):
        folder = require(name, "corpus.jsonl", "queries.jsonl")
        items = [(i.question, next(iter(i.sources))) for i in _items(folder) if i.answerable and i.sources]
        if name == "squad2" and squad_sample < len(items):
            items = random.Random(0).sample(items, squad_sample)
        sets[name] = (_write_corpus(name, folder), items, _doc_rank)
        if name == "squad2":
            answers = {q["text"]: tuple(q["answers"]) for q in read_jsonl(folder / "queries.jsonl") if q["answers"]}
            long_items = [(q, (f"{doc.split('-')[0]}.md", answers[q])) for q, doc in items if q in answers]
            sets["squad2_articles"] = (_write_articles(folder), long_items, _answer_rank)
    docs = require("ollama_docs") / "en" / "docs"
    sets["ollama_docs"] = (docs, [(q, (f, p)) for q, f, p in QUESTIONS], _phrase_rank)
    return sets


def _plot(results: list[dict]) -> None:
    """PLOTS/chunking_hit_at_k.png: one panel per set, hit@k vs k, a colour per size, dashed for overlap 0."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e '.[bench]'): no plot", file=sys.stderr)
        return
    names = [n for n in ("squad2", "squad2_articles", "cmrc2018", "ollama_docs") if n in results[0]]
    sizes = sorted({r["size"] for r in results})
    rows = (len(names) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(10, 3.3 * rows + 0.6), dpi=110, squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        for r in results:
            hit = {int(k): v for k, v in r[name]["hit"].items()}
            ax.plot(
                KS,
                [hit[k] for k in KS],
                "-" if r["overlap"] else "--",
                color=f"C{sizes.index(r['size'])}",
                marker="o",
                markersize=3,
                label=f"{r['size']} tok, overlap {r['overlap']}",
            )
        ax.set_title(f"{name} ({results[0][name]['questions']} questions)", fontsize=10)
        ax.set_xlabel("k (chunks given to the model)", fontsize=9)
        ax.set_xticks(KS)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel("hit@k")
    fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize=8, loc="center right")
    fig.suptitle("Retrieval hit@k by chunk size and overlap (hybrid, built-in all-minilm)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.83, 1))
    PLOTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(PLOTS / "chunking_hit_at_k.png")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 150, 200, 250], help="chunk sizes (tokens)")
    parser.add_argument("--overlaps", type=int, nargs="+", default=[0, 30], help="chunk overlaps (tokens)")
    parser.add_argument("--squad", type=int, default=600, help="answerable SQuAD2 questions sampled")
    parser.add_argument(
        "--sets", nargs="+", default=["squad2", "squad2_articles", "cmrc2018", "ollama_docs"], help="which sets"
    )
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from out/bench_chunking.json")
    args = parser.parse_args()
    if args.plot_only:
        _plot(json.loads((OUT / "bench_chunking.json").read_text(encoding="utf-8"))["results"])
        return
    sets = {k: v for k, v in _sets(args.squad).items() if k in args.sets}
    print(machine(), file=sys.stderr)
    results = []
    for size in args.sizes:
        for overlap in args.overlaps:
            row: dict = {"size": size, "overlap": overlap}
            for name, (folder, questions, rank) in sets.items():
                index_dir = OUT / "chunking" / f"{name}_{size}_{overlap}"
                seconds, chunks = _index(folder, index_dir, size, overlap)
                started = time.perf_counter()
                row[name] = _score(index_dir, questions, rank) | {
                    "index_s": seconds,
                    "chunks": chunks,
                    "query_s": time.perf_counter() - started,
                }
                shutil.rmtree(index_dir, ignore_errors=True)
                print(
                    f"size {size} overlap {overlap} {name}: {chunks} chunks, index {seconds:.0f} s, "
                    f"hit@6 {row[name]['hit'][6]:.3f}, MRR {row[name]['mrr']:.3f}",
                    file=sys.stderr,
                    flush=True,
                )
            results.append(row)
            save_json("bench_chunking", {"machine": machine(), "results": results})
    for name in sets:
        print(f"\n{name} ({results[0][name]['questions']} questions)")
        print(
            table(
                [
                    "size",
                    "overlap",
                    "chunks",
                    "index s",
                    *(f"hit@{k}" for k in KS),
                    "MRR",
                    *(f"ctx tok k={k}" for k in (3, 6, 10)),
                ],
                [
                    (
                        r["size"],
                        r["overlap"],
                        r[name]["chunks"],
                        f"{r[name]['index_s']:.1f}",
                        *(r[name]["hit"][k] for k in KS),
                        r[name]["mrr"],
                        *(round(r[name]["prompt_tokens"][k]) for k in (3, 6, 10)),
                    )
                    for r in results
                ],
            )
        )
    _plot(results)


if __name__ == "__main__":
    main()
