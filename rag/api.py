"""The public library API: `RAG`, one object per index (folder or Chroma server) and collection.

Each method delegates to the module that owns the work; this file only wires settings and shared resources.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from rag.evaluate import EvalReport, GoldItem, QuestionResult
    from rag.ollama import Client


class RAG:
    """Index folders and ask cited questions over them.

    Args:
        index_dir: folder holding the embedded Chroma store, catalog and lock (default: `rag.config.default_index_dir()`).
        chroma_url: `http://HOST:PORT` of a Chroma server instead of the embedded store.
        collection: collection name (default "default").
        embed_model / chat_model / ollama_host: model names and Ollama address (`OLLAMA_HOST` honoured).
        settings: a full `Settings`; keyword overrides win over it.
        **options: any other `Settings` field (top_k, chunk_tokens, min_score, strict, ...).
    """

    def __init__(
        self,
        index_dir: str | Path | None = None,
        *,
        chroma_url: str | None = None,
        collection: str | None = None,
        embed_model: str | None = None,
        chat_model: str | None = None,
        ollama_host: str | None = None,
        settings: Settings | None = None,
        **options: Any,
    ) -> None:
        base = {} if settings is None else {k: v for k, v in vars(settings).items() if v is not None}
        overrides = dict(
            index_dir=Path(index_dir) if index_dir is not None else None,
            chroma_url=chroma_url,
            collection=collection,
            embed_model=embed_model,
            chat_model=chat_model,
            ollama_host=ollama_host,
            **options,
        )
        self.settings = Settings.resolve(**(base | {k: v for k, v in overrides.items() if v is not None}))

    @cached_property
    def client(self) -> "Client":
        """The Ollama client (created on first use)."""
        from rag.ollama import Client

        return Client(self.settings.ollama_host)

    def evaluate(
        self,
        gold: "str | Path | Sequence[GoldItem]",
        *,
        k: int | None = None,
        mode: str = "hybrid",
        retrieval_only: bool = False,
        on_question: "Callable[[QuestionResult], None] | None" = None,
    ) -> "EvalReport":
        """Score this index (and chat model) on gold questions: retrieval hit@k, recall@k, MRR, nDCG@10, answer
        containment, citation precision, abstention accuracy, latency p50/p95 and Ollama token counts.

        Args:
            gold: a gold JSONL file (see `rag.evaluate`) or a list of `GoldItem`.
            k: retrieval depth for hit@k/recall@k (default: settings.top_k).
            mode: "hybrid", "dense" or "bm25".
            retrieval_only: skip the chat model; answer metrics are None.
            on_question: called with each QuestionResult as it completes (progress).

        Raises:
            IngestError: the gold file cannot be read or a line is invalid (names the line).
            RagError: retrieval or the model failed (unreachable Ollama, missing model, ...).
        """
        from rag.evaluate import evaluate

        return evaluate(self, gold, k=k, mode=mode, retrieval_only=retrieval_only, on_question=on_question)

    def close(self) -> None:
        """Release the Ollama connection pool and open stores."""
        if "client" in self.__dict__:
            self.client.close()

    def __enter__(self) -> "RAG":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
