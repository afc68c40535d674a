"""The REST face over a real socket: ask (JSON and NDJSON events), retrieve, status, chunks, index jobs, errors in
the CLI's words, and the request size limit."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from rag.cli import cli
from support.answers import unmarked
from support.corpus import make_docs

QUESTION = "What does the embed endpoint return?"
DEADLINE_S = 120


def test_ask_returns_the_answer_with_citations(server, rag) -> None:
    reply = httpx.post(f"{server.url}/v1/ask", json={"question": QUESTION, "k": 4}, timeout=60)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    direct = rag.ask(QUESTION, k=4)
    assert body["answer"] == direct.answer and body["answerable"] is True
    assert [c["id"] for c in body["citations"]] == [c.id for c in direct.citations]
    assert all(c["verified"] for c in body["citations"])


def test_ask_stream_sends_retrieval_deltas_then_the_answer(server) -> None:
    events = []
    with httpx.stream("POST", f"{server.url}/v1/ask", json={"question": QUESTION, "stream": True}, timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "answer" and "delta" in kinds
    assert set(kinds[1:-1]) == {"delta"}
    final = events[-1]["answer"]
    assert unmarked("".join(e["text"] for e in events if e["type"] == "delta")) == unmarked(final["answer"])
    hit_ids = {h["id"] for h in events[0]["hits"]}
    assert final["citations"] and {c["id"] for c in final["citations"]} <= hit_ids


def test_ask_options_reach_the_engine(server) -> None:
    body = {"question": QUESTION, "chat_model": "none", "types": ["markdown"], "mode": "bm25", "k": 2}
    reply = httpx.post(f"{server.url}/v1/ask", json=body, timeout=60).json()
    assert reply["mode"] == "extractive"
    assert reply["hits"] and len(reply["hits"]) <= 2 and all(h["source"].endswith(".md") for h in reply["hits"])


def test_retrieve_status_and_chunk(server, rag) -> None:
    hits = httpx.post(f"{server.url}/v1/retrieve", json={"question": QUESTION, "k": 3}, timeout=60).json()["hits"]
    assert [h["id"] for h in hits] == [h.id for h in rag.retrieve(QUESTION, k=3)]
    status = httpx.get(f"{server.url}/v1/status", timeout=60).json()
    assert status == rag.status().to_dict()
    assert "home" not in status and status["catalog_dir"] == status["index_dir"]  # embedded: catalogs in the index
    assert status["config_path"].endswith("config.toml") and status["user_dir"]
    chunk = httpx.get(f"{server.url}/v1/chunks/{hits[0]['id']}", timeout=60).json()
    assert chunk["text"] == hits[0]["text"] and chunk["source"] == hits[0]["source"]
    missing = httpx.get(f"{server.url}/v1/chunks/nope", timeout=60)
    assert missing.status_code == 404 and "nope" in missing.json()["message"]


def test_index_job_runs_in_the_background_and_reports_progress(server, tmp_path: Path) -> None:
    make_docs(tmp_path / "more", n=4)
    started = httpx.post(f"{server.url}/v1/index", json={"path": str(tmp_path / "more")}, timeout=60)
    assert started.status_code == 202 and started.json()["state"] == "running"
    location = started.headers["location"]
    deadline = time.monotonic() + DEADLINE_S
    while (job := httpx.get(f"{server.url}{location}", timeout=60).json())["state"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert job["files_done"] == job["files_total"] == 4 and job["report"]["error"] is None
    assert httpx.get(f"{server.url}/v1/status", timeout=60).json()["collections"][0]["files"] == 5 + 4


def test_errors_carry_the_cli_message_and_code(server, rag) -> None:
    reply = httpx.post(f"{server.url}/v1/ask", json={"question": QUESTION, "collection": "nothing_here"}, timeout=60)
    assert reply.status_code == 503
    body = reply.json()
    args = ["ask", QUESTION, "--index", str(rag.settings.index_dir), "--collection", "nothing_here", "--json"]
    cli_run = CliRunner().invoke(cli, args)
    assert cli_run.exit_code == body["exit_code"] == 2
    assert json.loads(cli_run.stdout) == {"error": body["error"], "message": body["message"]}
    bad = httpx.post(f"{server.url}/v1/ask", json={"question": QUESTION, "mode": "psychic"}, timeout=60)
    assert bad.status_code == 422 and "mode" in bad.json()["message"]


def test_a_10_mb_body_is_refused_with_413(server) -> None:
    big = json.dumps({"question": "x" * (10 << 20)}).encode()
    reply = httpx.post(f"{server.url}/v1/ask", content=big, headers={"content-type": "application/json"}, timeout=60)
    assert reply.status_code == 413
    assert "--max-body" in reply.json()["message"]

    def chunks():  # no Content-Length: the limit is counted as the body arrives
        for i in range(0, len(big), 1 << 16):
            yield big[i : i + (1 << 16)]

    streamed = httpx.post(
        f"{server.url}/v1/ask", content=chunks(), headers={"content-type": "application/json"}, timeout=60
    )
    assert streamed.status_code == 413


def test_openapi_docs_are_served(server) -> None:
    assert httpx.get(f"{server.url}/docs", timeout=60).status_code == 200
    paths = httpx.get(f"{server.url}/openapi.json", timeout=60).json()["paths"]
    assert {"/v1/ask", "/v1/retrieve", "/v1/status", "/v1/index", "/api/chat", "/v1/chat/completions"} <= set(paths)
