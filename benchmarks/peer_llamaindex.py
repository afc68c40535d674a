"""Peer line for bench_qa: the same questions through llama_index's CitationQueryEngine, same model and embedder.

Runs in its own throwaway venv (never imported by the project; bench_qa --peer creates the venv and calls this):

    python -m venv /tmp/venv-li
    /tmp/venv-li/bin/pip install llama-index-core llama-index-llms-ollama llama-index-embeddings-ollama
    OLLAMA_HOST=127.0.0.1:11500 /tmp/venv-li/bin/python benchmarks/peer_llamaindex.py IN.json OUT.json

IN.json: {"corpus_dir", "k", "chat_model", "embed_model", "questions": [...]}. The corpus folder holds the same passage
files bench_qa indexes; llama_index splits and embeds them itself (its defaults) through Ollama's all-minilm, retrieves
`k` nodes per question, and answers with CitationQueryEngine's own prompt (numbered sources, "[n]" markers). OUT.json:
one record per question with the answer text, the cited source files (from the [n] markers), every retrieved source
file, wall-clock seconds and the model's token counts. Scoring happens in bench_qa with the project's metrics.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

from llama_index.core import Settings, SimpleDirectoryReader, VectorStoreIndex
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent
from llama_index.core.query_engine import CitationQueryEngine
from llama_index.embeddings.ollama import OllamaEmbedding
from llama_index.llms.ollama import Ollama

_MARK = re.compile(r"\[(\d+)\]")


class _Tokens(BaseEventHandler):
    """Adds up Ollama's prompt_eval_count / eval_count of every chat call."""

    prompt: int = 0
    completion: int = 0

    @classmethod
    def class_name(cls) -> str:
        return "Tokens"

    def handle(self, event: Any, **kwargs: Any) -> None:
        if isinstance(event, LLMChatEndEvent) and event.response is not None:
            raw = event.response.raw or {}
            get = raw.get if isinstance(raw, dict) else lambda k, d=None: getattr(raw, k, d)
            self.prompt += int(get("prompt_eval_count", 0) or 0)
            self.completion += int(get("eval_count", 0) or 0)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    host = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434")
    base = host if host.startswith("http") else f"http://{host}"
    Settings.llm = Ollama(
        model=spec["chat_model"],
        base_url=base,
        temperature=0.0,
        request_timeout=900.0,
        additional_kwargs={"seed": 42},
    )
    Settings.embed_model = OllamaEmbedding(model_name=spec["embed_model"], base_url=base)
    tokens = _Tokens()
    get_dispatcher().add_event_handler(tokens)
    started = time.perf_counter()
    docs = SimpleDirectoryReader(spec["corpus_dir"]).load_data()
    index = VectorStoreIndex.from_documents(docs)
    print(f"llama_index: indexed {len(docs)} files in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    engine = CitationQueryEngine.from_args(index, similarity_top_k=spec["k"])
    out = []
    for n, question in enumerate(spec["questions"], 1):
        tokens.prompt = tokens.completion = 0
        t0 = time.perf_counter()
        record: dict[str, Any] = {"question": question}
        try:
            response = engine.query(question)
            files = [s.node.metadata.get("file_name", "") for s in response.source_nodes]
            texts = [s.node.get_content() for s in response.source_nodes]
            cited = sorted({int(m) for m in _MARK.findall(str(response))})
            record |= {
                "answer": str(response),
                "retrieved": files,
                "cited": [files[i - 1] for i in cited if 1 <= i <= len(files)],
                "cited_texts": [texts[i - 1] for i in cited if 1 <= i <= len(files)],
                "bad_markers": [i for i in cited if not 1 <= i <= len(files)],
            }
        except Exception as exc:  # reported per question, like bench_qa's errors
            record["error"] = f"{type(exc).__name__}: {exc}"
        record |= {
            "seconds": time.perf_counter() - t0,
            "prompt_tokens": tokens.prompt,
            "completion_tokens": tokens.completion,
        }
        out.append(record)
        print(f"\rllama_index: {n}/{len(spec['questions'])}", end="", file=sys.stderr, flush=True)
        with open(sys.argv[2], "w", encoding="utf-8") as f:  # after each question: a stopped run keeps its answers
            json.dump(out, f, ensure_ascii=False, indent=1)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
