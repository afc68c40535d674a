"""Question answering on SQuAD 2.0 (English, with unanswerable questions) and CMRC 2018 (Chinese).

Command (from the repo root; needs ../shared/eval/squad2 and ../shared/eval/cmrc2018):

    python benchmarks/bench_qa.py                          # retrieval for all questions, answers for a sample
    python benchmarks/bench_qa.py --answers 0              # retrieval and the abstention-floor sweep only
    OLLAMA_HOST=http://HOST:11434 python benchmarks/bench_qa.py --chat-model llama3.2
    python benchmarks/bench_qa.py --chat-model gguf:/path/model.gguf
    python benchmarks/bench_qa.py --chat-model gguf:/path/model.gguf --answers 40 --balanced --compare-extractive
    python benchmarks/bench_qa.py --sets cmrc2018 --no-retrieval --answers 0 --cjk-sweep   # the CJK abstention floor
    OLLAMA_HOST=127.0.0.1:11500 python benchmarks/bench_qa.py --no-retrieval --chat-model qwen2.5-coder:1.5b \
        --answers 12 --balanced --seed 7 --sets squad2 --compare-extractive        # ../shared/real-ollama/start.sh

Code path: the whole product. Each passage is written to benchmarks/out/qa/<set>/<id>.txt ("title\\n\\ntext"), indexed
with RAG.index (built-in all-minilm embedder, default chunking), and scored with RAG.evaluate: retrieval hit@k, MRR and
nDCG@10 against the passage each question was written from, always; answer containment, citation precision and
abstention accuracy on a sample of --answers questions, generative when a chat model answers, else extractive (the
table says which). The abstention floor (min_score, compared with the best hit's dense cosine) is swept over SQuAD2's
questions, and over SciFact claims asked of the SQuAD2 passages as clearly off-topic questions when
../shared/eval/scifact
is present. --balanced draws half of the SQuAD2 answer sample from unanswerable questions; --compare-extractive answers
the same sample again with no chat model. The answer table also gives the share of citations whose quote was found in
the cited chunk, unusable replies (ModelOutputError after one retry) and chat calls beyond one per model answer, and a
lenient match (the answer contains a gold answer, or is a span of at least 2 characters inside one): CMRC2018's gold
answers are long spans (median 19 characters), so a short correct answer such as "1694" fails plain containment.
--cjk-sweep measures the CJK lexical-evidence floor (rag.answer.evidence) on CMRC2018 and the 50 off-topic Chinese
questions
in benchmarks/data/offtopic_zh.txt plus 30 held-out ones (--off-topic-zh N adds N of the 50 to the CMRC2018 answer
sample as unanswerable). --answer-check quote runs the answers with the yes/no answer check; --replay-check NAME asks
that check about every generative answer recorded in benchmarks/out/NAME.json (the answer calls are not paid again).
--limit N answers only the first N of the drawn sample, so a variant (say --prompts-dir with another schema order) can
be run on a subset of a recorded run's questions.
--peer PYTHON runs the same sample through llama_index's CitationQueryEngine (benchmarks/peer_llamaindex.py, in the
venv of PYTHON, never imported here) with the same model and embedder, scored with the same metrics:

    python -m venv /tmp/venv-li && /tmp/venv-li/bin/pip install llama-index-core llama-index-llms-ollama \
        llama-index-embeddings-ollama
    OLLAMA_HOST=127.0.0.1:11500 python benchmarks/bench_qa.py --no-retrieval --chat-model qwen2.5-coder:1.5b \
        --answers 100 --balanced --seed 7 --sets squad2 --peer /tmp/venv-li/bin/python --peer-only --peer-n 40
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

from _common import EVAL_DIR, OUT, machine, read_jsonl, require, save_json, table

from rag import RAG
from rag.config import DEFAULT_MIN_SCORE, DEFAULT_RRF_K, DEFAULT_TOP_K
from rag.eval.metrics import contains_answer, mean, normalize_answer, percentile
from rag.eval.runner import EvalReport, GoldItem, evaluate
from rag.vocab import ANSWER_CHECKS

_LABELS_ONLY = re.compile(r"\s*S\d+(?:\s*,\s*S\d+)*\s*")
"""An answer that is nothing but source labels ("S1", "S1, S2"): the model echoed the prompt's id list."""
_MARKERS = re.compile(r"\s*(?:\[\d+\])+")
"""Inline citation markers ("[1][2]"), stripped before the lenient match."""
FLOORS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
ANSWER_OPTIONS: dict = {}
"""Extra Settings for the answer runs (--prompts-dir)."""


def _write_corpus(name: str, folder: Path) -> Path:
    """Each passage of EVAL_DIR/name/corpus.jsonl as OUT/qa/name/<id>.txt (rewritten only when missing)."""
    out = OUT / "qa" / name
    out.mkdir(parents=True, exist_ok=True)
    for doc in read_jsonl(folder / "corpus.jsonl"):
        path = out / f"{doc['_id']}.txt"
        if not path.exists():
            path.write_text(f"{doc.get('title', '')}\n\n{doc['text']}\n", encoding="utf-8")
    return out


def _items(folder: Path) -> list[GoldItem]:
    """Gold items: the gold passage as source (for unanswerable ones, the passage they were written against)."""
    items = []
    for q in read_jsonl(folder / "queries.jsonl"):
        doc = q.get("gold_doc") or q.get("paragraph")
        items.append(
            GoldItem(
                q["text"],
                tuple(q.get("answers") or ()),
                {f"{doc}.txt": 1.0} if doc else None,
                not q.get("is_impossible", False),
            )
        )
    return items


def _open(
    name: str, chat_model: str, *, min_score: float = DEFAULT_MIN_SCORE, rrf_k: int = DEFAULT_RRF_K, **options: object
) -> RAG:
    return RAG(
        OUT / "qa" / f"{name}_index",
        embed_backend="builtin",
        chat_model=chat_model,
        min_score=min_score,
        rrf_k=rrf_k,
        **options,
    )


def _index(name: str, docs: Path) -> None:
    started = time.perf_counter()
    with _open(name, "none") as rag:
        report = rag.index(docs)
    print(
        f"{name}: indexed in {time.perf_counter() - started:.0f} s ({getattr(report, 'chunks', '?')} chunks)",
        file=sys.stderr,
    )


def _progress(label: str, total: int):
    done = [0]

    def tick(_: object) -> None:
        done[0] += 1
        if done[0] % 50 == 0 or done[0] == total:
            print(f"\r{label}: {done[0]}/{total}", end="" if done[0] < total else "\n", file=sys.stderr, flush=True)

    return tick


def _sweep(scores_ok: list[float | None], scores_bad: list[float | None], off_topic: list[float | None]) -> list[dict]:
    """For each floor: share of answerable questions abstained on (cost) and of unanswerable/off-topic (benefit)."""
    rows = []
    for floor in FLOORS:
        under = lambda xs: mean(1.0 if (s is None or s < floor) else 0.0 for s in xs)
        rows.append(
            {
                "floor": floor,
                "false_abstention": under(scores_ok),
                "unanswerable_abstained": under(scores_bad),
                "off_topic_abstained": under(off_topic) if off_topic else None,
            }
        )
    return rows


def _off_topic(k: int) -> list[float | None]:
    """Best dense cosine of SciFact claims asked of the SQuAD2 index (questions it cannot answer)."""
    path = EVAL_DIR / "scifact" / "queries_train.jsonl"
    if not path.is_file():
        return []
    claims = [q["text"] for q in read_jsonl(path)][:300]
    with _open("squad2", "none") as rag:
        report = rag.evaluate([GoldItem(c) for c in claims], k=k, retrieval_only=True)
    return [r.top_dense_score for r in report.results]


OFF_TOPIC_ZH = Path(__file__).resolve().parent / "data" / "offtopic_zh.txt"
OFF_TOPIC_ZH_HELDOUT = OFF_TOPIC_ZH.with_name("offtopic_zh_heldout.txt")
"""30 more off-topic Chinese questions, written for a second check beside the 50 (report both)."""
CJK_FLOORS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def _cjk_sweep(items: list[GoldItem], k: int) -> list[dict]:
    """The CJK lexical-evidence floor (rag.answer.evidence) over CMRC2018's questions (cost) and 50 + 30 held-out
    off-topic Chinese questions (benefit), all asked of the CMRC2018 index with its English-only embedder."""
    from rag.answer.evidence import evidence_of, query_script

    read = lambda p: [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    off, held = read(OFF_TOPIC_ZH), read(OFF_TOPIC_ZH_HELDOUT)
    with _open("cmrc2018", "none") as rag:
        engine = rag._query_engine  # instrumentation: the engine's own retrieval and BM25 index
        index = engine.retriever.bm25()
        on = [
            evidence_of(i.question, engine.retrieve(i.question, k=k), index)
            for i in items
            if query_script(i.question) == "cjk"
        ]
        bad = [evidence_of(q, engine.retrieve(q, k=k), index) for q in off]
        later = [evidence_of(q, engine.retrieve(q, k=k), index) for q in held]
    return [
        {
            "floor": f,
            "cmrc_abstained": mean(1.0 if e < f else 0.0 for e in on),
            "off_topic_abstained": mean(1.0 if e < f else 0.0 for e in bad),
            "held_out_abstained": mean(1.0 if e < f else 0.0 for e in later),
            "cmrc_questions": len(on),
            "off_topic_questions": len(bad),
            "held_out_questions": len(later),
        }
        for f in CJK_FLOORS
    ]


def _sample(items: list[GoldItem], n: int, seed: int, balanced: bool) -> list[GoldItem]:
    """`n` items drawn with `seed`; with `balanced`, half of them unanswerable when the set has both kinds."""
    rng = random.Random(seed)
    bad = [i for i in items if not i.answerable]
    if not balanced or not bad or len(bad) == len(items):
        return rng.sample(items, min(n, len(items)))
    ok = [i for i in items if i.answerable]
    picked = rng.sample(ok, min(n - n // 2, len(ok))) + rng.sample(bad, min(n // 2, len(bad)))
    rng.shuffle(picked)
    return picked


def _lenient(text: str, answers: tuple[str, ...]) -> bool:
    """The answer contains a gold answer, or (normalised, at least 2 characters) sits inside one."""
    text = _MARKERS.sub("", text)
    short = normalize_answer(text)
    return contains_answer(text, answers) or (len(short) >= 2 and any(short in normalize_answer(a) for a in answers))


class _Recorder:
    """A RAG stand-in for `evaluate`: delegates everything, keeps each ask()'s Answer (None when it raised) and counts
    calls to the chat backend (to see schema retries, which the Answer does not report)."""

    def __init__(self, rag: RAG) -> None:
        self._rag = rag
        self.answers: list = []
        self.chat_calls = 0
        self.check_calls = 0
        if rag.settings.chat_model != "none":
            backend = rag._query_engine.backend()  # instrumentation only: wrap this instance's chat to count calls
            chat = backend.chat

            def counted(*args, **kwargs):
                self.chat_calls += 1
                if {"supported", "span"} & set((kwargs.get("format") or {}).get("properties", {})):
                    self.check_calls += 1  # the answer_check call, not a schema retry
                return chat(*args, **kwargs)

            backend.chat = counted

    def __getattr__(self, name: str):
        return getattr(self._rag, name)

    def ask(self, question: str, **kwargs):
        try:
            answer = self._rag.ask(question, **kwargs)
        except Exception:
            self.answers.append(None)
            raise
        self.answers.append(answer)
        return answer


def _answer_run(name: str, chat_model: str, sample: list[GoldItem], k: int, floor: float) -> tuple[EvalReport, dict]:
    """Answer `sample` with `chat_model`; the report and what it does not carry (verification, abstention causes)."""
    with _open(name, chat_model, min_score=floor, **ANSWER_OPTIONS) as rag:
        recorder = _Recorder(rag)
        rep = evaluate(recorder, sample, k=k, on_question=_progress(f"{name} answers ({chat_model})", len(sample)))
    answers = recorder.answers
    cites = [c for a in answers if a is not None for c in a.citations]
    generated = [a for a in answers if a is not None and a.mode == "generative"]
    model_answers = len(generated)
    unanswerable = [(i, a) for i, a in zip(sample, answers, strict=False) if not i.answerable]
    scored = [(i, a) for i, a in zip(sample, answers, strict=False) if i.answerable and i.answers]
    extra = {
        "lenient_match": mean(
            0.0 if a is None or a.mode == "abstained" or not a.answerable else float(_lenient(a.answer, i.answers))
            for i, a in scored
        )
        if scored
        else None,
        "verified_share": mean(1.0 if c.verified else 0.0 for c in cites) if cites else None,
        "citations": len(cites),
        "reattributed": sum(1 for c in cites if c.reattributed_from),
        "inconsistent_claims": sum(1 for a in answers if a is not None for c in a.claims if "inconsistent" in c.flags),
        "restated_claims": sum(1 for a in answers if a is not None for c in a.claims if "restated" in c.flags),
        "model_errors": rep.errors,
        "chat_calls": recorder.chat_calls,
        "retries": max(recorder.chat_calls - recorder.check_calls - model_answers - rep.errors, 0),
        "check_calls": recorder.check_calls,
        "check_refused": sum(1 for a in generated if any("answer check found" in w for w in a.warnings)),
        "check_refused_answerable": sum(
            1
            for i, a in zip(sample, answers, strict=False)
            if i.answerable and a is not None and any("answer check found" in w for w in a.warnings)
        ),
        "check_failed": sum(1 for a in generated if any("answer check could not run" in w for w in a.warnings)),
        "floor_abstained": sum(1 for a in answers if a is not None and a.mode == "abstained"),
        "labels_only_answers": sum(1 for a in generated if _LABELS_ONLY.fullmatch(a.answer)),
        "uncited_answers": sum(1 for a in generated if a.answerable and not a.citations),
        "model_said_unanswerable": sum(1 for a in generated if not a.answerable),
        "unanswerable_by_model": sum(
            1 for _, a in unanswerable if a is not None and a.mode == "generative" and not a.answerable
        ),
        "details": [
            {"question": i.question, "gold": list(i.answers), "answerable": i.answerable, "error": a is None}
            | (
                {}
                if a is None
                else {
                    "mode": a.mode,
                    "said_answerable": a.answerable,
                    "answer": a.answer,
                    "citations": [
                        {
                            "source": c.source,
                            "quote": c.quote,
                            "verified": c.verified,
                            "reattributed": bool(c.reattributed_from),
                        }
                        for c in a.citations
                    ],
                    "claims": [{"text": c.text, "flags": list(c.flags)} for c in a.claims],
                    "ms": a.timings.total_ms,
                    "warnings": list(a.warnings),
                }
            )
            for i, a in zip(sample, answers, strict=False)
        ],
    }
    return rep, extra


PEER_SCRIPT = Path(__file__).resolve().parent / "peer_llamaindex.py"
_PEER_NEGATION = re.compile(r"\b(?:no|not|none|cannot|can't|doesn't|don't|isn't|unable)\b", re.I)
_PEER_ABOUT_SOURCES = re.compile(r"source|context|information|provided|passage|mention|text", re.I)
_PEER_DECLINE_ZH = re.compile("未提及|没有提到|没有提及|没有提供|未提供|无法|不知道|没有相关|不包含|没有信息")


def peer_abstained(text: str) -> bool:
    """The peer has no answerable flag: its answer declines when its first sentence negates and is about the sources
    ("The provided sources do not mention ...", "None of the sources ..."), or says so in Chinese, or is empty."""
    first = re.split(r"(?<=[.!?。！？])\s*", text.strip(), maxsplit=1)[0]
    if not first:
        return True
    return bool(_PEER_NEGATION.search(first) and _PEER_ABOUT_SOURCES.search(first)) or bool(
        _PEER_DECLINE_ZH.search(first)
    )


def _peer_run(name: str, sample: list[GoldItem], k: int, chat_model: str, python: str) -> dict | None:
    """`sample` through llama_index's CitationQueryEngine (benchmarks/peer_llamaindex.py in the venv of `python`),
    scored with the project's metrics; None (with a message) when that venv cannot run it."""
    import json
    import subprocess

    if not Path(python).is_file():
        print(f"peer skipped: {python} not found (make a venv with llama-index-core, -llms-ollama, -embeddings-ollama)")
        return None
    spec = OUT / f"peer_{name}_in.json"
    result = OUT / f"peer_{name}_out.json"
    spec.write_text(
        json.dumps(
            {
                "corpus_dir": str(OUT / "qa" / name),
                "k": k,
                "chat_model": chat_model,
                "embed_model": "all-minilm",
                "questions": [i.question for i in sample],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result.unlink(missing_ok=True)
    try:
        code = subprocess.run([python, str(PEER_SCRIPT), str(spec), str(result)], check=False).returncode
    except KeyboardInterrupt:  # a stopped peer run keeps the answers it has (written after each question)
        code = 130
    if not result.is_file():
        print(f"peer skipped: {PEER_SCRIPT.name} exited {code} before answering a question")
        return None
    records = json.loads(result.read_text(encoding="utf-8"))
    if code != 0:
        print(f"peer: {PEER_SCRIPT.name} exited {code}; scoring the {len(records)} questions it answered")
    return score_peer(sample, records) | {"complete": code == 0 and len(records) == len(sample)}


def score_peer(sample: list[GoldItem], records: list[dict]) -> dict:
    """The peer's answers scored like ours: containment and lenient match on answerable questions, abstention,
    citation precision (cited node from the gold passage or containing a gold answer), uncited answers."""
    from rag.eval.metrics import citation_precision

    rows = []
    for item, rec in zip(sample, records, strict=False):
        text = rec.get("answer") or ""
        declined = "error" in rec or peer_abstained(text)
        cited = list(zip(rec.get("cited") or [], rec.get("cited_texts") or [], strict=False))
        rows.append(
            {
                "answerable": item.answerable,
                "abstained": declined,
                "contained": (not declined and contains_answer(text, item.answers)) if item.answers else None,
                "lenient": (not declined and _lenient(text, item.answers)) if item.answers else None,
                "citations": len(cited),
                "good": (citation_precision(cited, item.sources or (), item.answers) or 0.0) * len(cited),
                "uncited": not declined and not cited,
                "seconds": rec.get("seconds", 0.0),
                "prompt_tokens": rec.get("prompt_tokens", 0),
                "completion_tokens": rec.get("completion_tokens", 0),
                "error": rec.get("error"),
            }
        )
    ok = [r for r in rows if r["answerable"]]
    bad = [r for r in rows if not r["answerable"]]
    cites = sum(r["citations"] for r in rows)
    answered = [r for r in rows if not r["abstained"]]
    return {
        "questions": len(rows),
        "answer_containment": mean(float(bool(r["contained"])) for r in ok if r["contained"] is not None),
        "lenient_match": mean(float(bool(r["lenient"])) for r in ok if r["lenient"] is not None),
        "abstention_accuracy": mean(float(r["abstained"]) for r in bad) if bad else None,
        "false_abstention": mean(float(r["abstained"]) for r in ok) if ok else None,
        "citations": cites,
        "citation_precision": sum(r["good"] for r in rows) / cites if cites else None,
        "uncited_answers": sum(1 for r in rows if r["uncited"]),
        "answered": len(answered),
        "errors": sum(1 for r in rows if r["error"]),
        "p50_s": percentile([r["seconds"] for r in rows], 50),
        "p95_s": percentile([r["seconds"] for r in rows], 95),
        "prompt_tokens": mean(r["prompt_tokens"] for r in rows),
        "completion_tokens": mean(r["completion_tokens"] for r in rows),
        "rows": rows,
    }


def replay_check(name: str, chat_model: str, prompts_dir: Path | None = None, kind: str = "quote") -> dict:
    """The answer check `kind` ("quote" or "span"; rag.answer.check, the product's own functions) asked about each
    recorded generative answer of benchmarks/out/<name>.json: the answers the model would have been checking with
    that answer_check (the answer call is the same request at temperature 0 and a fixed seed), without paying for the
    answer calls again."""
    import json

    from rag.answer.check import check_answer, check_span
    from rag.ollama import Client

    raw = json.loads((OUT / f"{name}.json").read_text(encoding="utf-8"))
    client = Client()
    out: dict = {}
    for set_name, data in raw.items():
        if not isinstance(data, dict) or "answers" not in data:
            continue
        rows = []
        details = data["answers"]["details"]
        for n, d in enumerate(details, 1):
            declined = d.get("error") or d.get("mode") == "abstained" or not d.get("said_answerable")
            verdict, seconds, tokens = None, 0.0, 0
            if not declined and d.get("mode") == "generative":
                quotes = [c["quote"] for c in d["citations"] if c["verified"]]
                quotes += [c["quote"] for c in d["citations"] if not c["verified"]]
                started = time.perf_counter()
                options = {"temperature": 0.0, "seed": 42}
                if kind == "span":
                    q = d["question"]
                    check = check_span(client, chat_model, q, quotes, options=options, prompts_dir=prompts_dir)
                else:
                    said = _MARKERS.sub("", d["answer"])
                    check = check_answer(
                        client, chat_model, d["question"], said, quotes, options=options, prompts_dir=prompts_dir
                    )
                seconds = time.perf_counter() - started
                verdict = check.supported
                tokens = (getattr(check.reply, "prompt_eval_count", 0) or 0) if check.reply is not None else 0
            refused = verdict is False
            rows.append(
                {
                    "answerable": d["answerable"],
                    "before_abstained": bool(declined),
                    "after_abstained": bool(declined) or refused,
                    "contained_before": (not declined and contains_answer(d.get("answer", ""), d["gold"]))
                    if d["gold"]
                    else None,
                    "verdict": verdict,
                    "span": check.span if verdict is not None and kind == "span" else None,
                    "seconds": seconds,
                    "prompt_tokens": tokens,
                }
            )
            print(f"\r{set_name} check: {n}/{len(details)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        ok = [r for r in rows if r["answerable"]]
        bad = [r for r in rows if not r["answerable"]]
        summary = {}
        for when in ("before", "after"):
            summary[when] = {
                "containment": mean(
                    float(bool(r["contained_before"]) and not r[f"{when}_abstained"])
                    for r in ok
                    if r["contained_before"] is not None
                ),
                "abstention": mean(float(r[f"{when}_abstained"]) for r in bad) if bad else None,
                "false_abstention": mean(float(r[f"{when}_abstained"]) for r in ok) if ok else None,
            }
        checked = [r for r in rows if r["verdict"] is not None or r["seconds"]]
        summary["checked"] = len(checked)
        summary["refused"] = sum(1 for r in rows if r["verdict"] is False)
        summary["failed"] = sum(1 for r in checked if r["verdict"] is None)
        summary["check_p50_s"] = percentile([r["seconds"] for r in checked], 50) if checked else None
        summary["check_prompt_tokens"] = mean(r["prompt_tokens"] for r in checked) if checked else None
        summary["rows"] = rows
        out[set_name] = summary
        print(
            f"{set_name}: n={len(rows)} checked {len(checked)} refused {summary['refused']} failed {summary['failed']}"
        )
        for when in ("before", "after"):
            print(f"  {when}: {summary[when]}")
    save_json(f"{name}_check" if kind == "quote" else f"{name}_check_{kind}", out)
    return out


def _answer_row(name: str, report: EvalReport, mode: str, extra: dict) -> tuple:
    return (
        name,
        mode,
        report.questions,
        report.answer_containment,
        extra["lenient_match"],
        report.citation_precision,
        extra["verified_share"],
        report.abstention_accuracy,
        report.false_abstention,
        f"{extra['model_errors']} / {extra['retries']}",
        report.answer_p50_ms,
        report.answer_p95_ms,
        report.prompt_tokens,
        report.eval_tokens,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=DEFAULT_TOP_K, help="chunks retrieved and given to the model")
    parser.add_argument("--answers", type=int, default=200, help="questions per set to answer (0: retrieval only)")
    parser.add_argument("--chat-model", default="none", help="Ollama model, gguf:PATH, or none (extractive)")
    parser.add_argument("--min-score", type=float, default=None, help="abstention floor for the answer run")
    parser.add_argument("--rrf-k", type=int, nargs="+", default=[DEFAULT_RRF_K], help="RRF constants to compare")
    parser.add_argument("--seed", type=int, default=0, help="seed of the answer sample")
    parser.add_argument(
        "--balanced",
        action="store_true",
        help="half of the answer sample unanswerable (sets that have unanswerable questions)",
    )
    parser.add_argument(
        "--compare-extractive", action="store_true", help="also answer the same sample with no chat model"
    )
    parser.add_argument("--sets", nargs="+", default=["squad2", "cmrc2018"], choices=["squad2", "cmrc2018"])
    parser.add_argument("--prompts-dir", default=None, help="prompt/schema override folder for the answer runs")
    parser.add_argument(
        "--answer-check", default=None, choices=list(ANSWER_CHECKS), help="answer_check setting for the answer runs"
    )
    parser.add_argument(
        "--context-sentences", type=int, default=None, help="context_sentences setting for the answer runs"
    )
    parser.add_argument("--no-retrieval", action="store_true", help="skip the retrieval evaluation and floor sweep")
    parser.add_argument(
        "--off-topic-zh",
        type=int,
        default=0,
        help="add this many of the 50 off-topic Chinese questions to the CMRC2018 answer sample",
    )
    parser.add_argument(
        "--cjk-sweep", action="store_true", help="the CJK evidence-floor sweep even with --no-retrieval"
    )
    parser.add_argument("--out-name", default="bench_qa", help="benchmarks/out/<name>.json")
    parser.add_argument(
        "--peer",
        default=None,
        metavar="PYTHON",
        help="python of a venv with llama_index: add the CitationQueryEngine line",
    )
    parser.add_argument("--peer-n", type=int, default=0, help="with --peer: only the first N of the sample")
    parser.add_argument(
        "--limit", type=int, default=0, help="answer only the first N of the sample (a subset of a larger run's)"
    )
    parser.add_argument("--peer-only", action="store_true", help="with --peer: skip this project's answer runs")
    parser.add_argument(
        "--replay-check",
        default=None,
        metavar="NAME",
        help="ask the answer check about each generative answer recorded in benchmarks/out/NAME.json, then exit",
    )
    args = parser.parse_args()
    if args.replay_check:
        replay_check(args.replay_check, args.chat_model, args.prompts_dir, args.answer_check or "quote")
        return
    if args.prompts_dir:
        ANSWER_OPTIONS["prompts_dir"] = Path(args.prompts_dir)
    if args.context_sentences is not None:
        ANSWER_OPTIONS["context_sentences"] = args.context_sentences
    if args.answer_check:
        ANSWER_OPTIONS["answer_check"] = args.answer_check
    sets = {name: require(name, "corpus.jsonl", "queries.jsonl") for name in args.sets}
    print(machine(), file=sys.stderr)
    retrieval_rows, answer_rows, raw = [], [], {"machine": machine(), "k": args.k}
    for name, folder in sets.items():
        _index(name, _write_corpus(name, folder))
        items = _items(folder)
        for rrf_k in [] if args.no_retrieval else args.rrf_k:  # the last constant's report feeds the floor sweep
            with _open(name, "none", rrf_k=rrf_k) as rag:
                report = rag.evaluate(items, k=args.k, retrieval_only=True, on_question=_progress(name, len(items)))
            answerable = [r for r in report.results if r.answerable]
            retrieval_rows.append(
                (
                    name,
                    rrf_k,
                    len(answerable),
                    mean(r.hit for r in answerable),
                    mean(r.reciprocal_rank for r in answerable),
                    mean(r.ndcg for r in answerable),
                    report.retrieve_p50_ms,
                    report.retrieve_p95_ms,
                )
            )
        raw[name] = {
            "retrieval": [
                dict(zip(("set", "rrf_k", "questions", "hit", "mrr", "ndcg@10", "p50_ms", "p95_ms"), row, strict=False))
                for row in retrieval_rows
                if row[0] == name
            ]
        }
        if name == "squad2" and not args.no_retrieval:
            sweep = _sweep(
                [r.top_dense_score for r in answerable],
                [r.top_dense_score for r in report.results if not r.answerable],
                _off_topic(args.k),
            )
            raw["floor_sweep"] = sweep
        if name == "cmrc2018" and (args.cjk_sweep or not args.no_retrieval):
            raw["cjk_floor_sweep"] = _cjk_sweep(items, args.k)
        if args.answers:
            sample = _sample(items, args.answers, args.seed, args.balanced)[: args.limit or None]
            if name == "cmrc2018" and args.off_topic_zh:
                off = [line.strip() for line in OFF_TOPIC_ZH.read_text(encoding="utf-8").splitlines() if line.strip()]
                sample = sample + [GoldItem(q, (), None, False) for q in off[: args.off_topic_zh]]
            floor = args.min_score if args.min_score is not None else DEFAULT_MIN_SCORE
            models = [args.chat_model] + (["none"] if args.compare_extractive and args.chat_model != "none" else [])
            if args.peer:
                peer = _peer_run(name, sample[: args.peer_n or None], args.k, args.chat_model, args.peer)
                if peer is not None:
                    raw[name]["peer_llamaindex"] = peer
                    print(f"{name} peer: " + ", ".join(f"{k}={v}" for k, v in peer.items() if k != "rows"))
                if args.peer_only:
                    models = []
            for chat_model in models:
                rep, extra = _answer_run(name, chat_model, sample, args.k, floor)
                modes = sorted({r.mode for r in rep.results if r.mode})
                answer_rows.append(_answer_row(name, rep, "+".join(modes) + f" (floor {floor})", extra))
                key = "answers" if chat_model == args.chat_model else "answers_extractive"
                raw[name][key] = rep.to_dict() | {"results": None} | extra
                save_json(args.out_name, raw)  # after every answer run: a run stopped later keeps what it has
    save_json(args.out_name, raw)  # before printing: a table that fails to print loses nothing
    if retrieval_rows:
        print(f"\nRetrieval (k={args.k}, hybrid, built-in all-minilm; answerable questions, gold = source passage)")
        print(
            table(["set", "RRF c", "questions", f"hit@{args.k}", "MRR", "nDCG@10", "p50 ms", "p95 ms"], retrieval_rows)
        )
    if "floor_sweep" in raw:
        print("\nAbstention floor sweep on SQuAD2 (share of questions whose best dense cosine is under the floor)")
        print(
            table(
                ["floor", "answerable abstained", "unanswerable abstained", "off-topic abstained"],
                [
                    (
                        r["floor"],
                        r["false_abstention"],
                        r["unanswerable_abstained"],
                        "-" if r["off_topic_abstained"] is None else r["off_topic_abstained"],
                    )
                    for r in raw["floor_sweep"]
                ],
            )
        )
    if "cjk_floor_sweep" in raw:
        print("\nCJK evidence floor (rag.answer.evidence) on the CMRC2018 index, English-only embedder")
        print(
            table(
                ["floor", "CMRC2018 abstained (cost)", "off-topic Chinese abstained (50)", "held-out off-topic (30)"],
                [
                    (r["floor"], r["cmrc_abstained"], r["off_topic_abstained"], r["held_out_abstained"])
                    for r in raw["cjk_floor_sweep"]
                ],
            )
        )
    if answer_rows:
        print(
            f"\nAnswers ({args.answers} sampled questions per set, seed {args.seed}"
            f"{', balanced' if args.balanced else ''}; chat model {args.chat_model})"
        )
        print(
            table(
                [
                    "set",
                    "mode",
                    "questions",
                    "containment",
                    "lenient match",
                    "citation precision",
                    "quotes verified",
                    "abstention acc.",
                    "false abstention",
                    "errors / retries",
                    "p50 ms",
                    "p95 ms",
                    "prompt tok",
                    "generated tok",
                ],
                [tuple("-" if v is None else v for v in row) for row in answer_rows],
            )
        )
    save_json(args.out_name, raw)


if __name__ == "__main__":
    main()
