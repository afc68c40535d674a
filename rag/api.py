"""The public library API: `RAG`, one object per index (folder or Chroma server) and collection.

Each method delegates to the module that owns the work; this file only wires settings and shared resources.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from ingest.chunking import Chunk
    from rag.answer.chat import ChatSession
    from rag.answer.engine import QueryEngine
    from rag.answer.types import Answer
    from rag.doctor import DoctorReport
    from rag.eval.runner import EvalReport, GoldItem, QuestionResult
    from rag.index.report import IndexProgress, IndexReport, RemoveReport, Status
    from rag.ollama import Client
    from rag.retrieve.hybrid import Hit
    from rag.vocab import RetrievalMode


class RAG:
    """Index folders and ask cited questions over them.

    Threads: one `RAG` per process (per index and collection), shared by every thread. `ask`, `ask_stream`,
    `retrieve`, `chat`, `status` and `chunk` may run from any number of threads at once, also while one thread runs
    `index` or `remove` (writers take the index's writer lock; readers see each committed file). The Ollama client,
    the query engine and the Chroma client are created once, on first use, under a lock. Call `close()` once, after
    the last call. Several `RAG` objects over the same index also work (they share the process's Chroma client).
    For asyncio apps, `rag.aio.AsyncRAG` wraps one `RAG`.

    Args:
        index_dir: folder holding the embedded Chroma store, catalog and lock (default:
        `rag.config.default_index_dir()`).
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
        self._lock = threading.RLock()  # guards the lazy resources below; never held during a query
        self._client: Client | None = None
        self._engine: QueryEngine | None = None

    @property
    def client(self) -> Client:
        """The Ollama client (created on first use, once; httpx clients are thread-safe)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from rag.ollama import Client

                    s = self.settings
                    tuning: dict[str, Any] = {
                        "timeout": s.ollama_timeout_s,
                        "retries": s.ollama_retries,
                        "short_timeout": s.ollama_short_timeout_s,
                        "max_reply_bytes": s.max_reply_bytes,
                    }
                    tuning = {k: v for k, v in tuning.items() if v is not None}
                    self._client = Client(self.settings.ollama_host, **tuning)
        return self._client

    @client.setter
    def client(self, client: Client) -> None:
        """Use this Ollama client instead (e.g. one with other timeouts); set it before the first query."""
        with self._lock:
            self._client = client

    def evaluate(
        self,
        gold: str | Path | Sequence[GoldItem],
        *,
        k: int | None = None,
        mode: RetrievalMode = "hybrid",
        retrieval_only: bool = False,
        on_question: Callable[[QuestionResult], None] | None = None,
    ) -> EvalReport:
        """Score this index (and chat model) on gold questions: retrieval hit@k, recall@k, MRR, nDCG@10, answer
        containment, citation precision, abstention accuracy, latency p50/p95 and Ollama token counts.

        Args:
            gold: a gold JSONL file (see `rag.eval.runner`) or a list of `GoldItem`.
            k: retrieval depth for hit@k/recall@k (default: settings.top_k).
            mode: "hybrid", "dense" or "bm25".
            retrieval_only: skip the chat model; answer metrics are None.
            on_question: called with each QuestionResult as it completes (progress).

        Raises:
            IngestError: the gold file cannot be read or a line is invalid (names the line).
            RagError: retrieval or the model failed (unreachable Ollama, missing model, ...).
        """
        from rag.eval.runner import evaluate

        return evaluate(self, gold, k=k, mode=mode, retrieval_only=retrieval_only, on_question=on_question)

    # ---- index side (issue 5): index, remove, status ----

    def _index_embedder(self, model: str) -> Any:
        from rag.embed import open_embedder

        return open_embedder(
            model,
            backend=self.settings.embed_backend,
            client=self.client,
            batch_size=self.settings.embed_batch,
            in_flight=self.settings.embed_in_flight,
            int8=self.settings.builtin_int8,
        )

    def index(
        self,
        path: str | Path,
        *,
        rebuild: bool = False,
        dry_run: bool = False,
        no_wait: bool = False,
        progress: Callable[[IndexProgress], None] | None = None,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        take_over: bool = False,
    ) -> IndexReport:
        """Sync the collection with the folder (or single file) at `path`: embed new and changed files, drop the chunks
        of deleted ones; unchanged files cost no embedding call.

        The embedding model is the one in the collection's manifest, unless `embed_model` was given (then it must
        match, or pass `rebuild=True`); a new collection uses `embed_model` or the default, all-minilm. A run stopped
        by Ctrl-C or a fatal error keeps the
        files it finished (`report.interrupted`, `report.error`); the next run completes the rest.

        Args:
            rebuild: drop the collection first and re-embed everything (to switch model or chunking).
            dry_run: only report what would change; writes nothing and needs no Ollama.
            no_wait: raise `IndexLocked` instead of waiting when another writer holds the index.
            progress: called with `IndexProgress` events (lock wait message, start, each file done).
            include / exclude: gitignore-style patterns relative to `path`.
            take_over: on a Chroma server, own a folder another writer indexed (its chunks there are deleted first),
                and let a rebuild with another model drop the other writers' chunks.

        Raises:
            IngestError: `path` does not exist.
            ManifestMismatch: the collection was built with another model, dimension, prefix scheme or chunker.
            IndexLocked: another writer holds the lock and `no_wait` is set.
            OllamaError, EmbedderError: the embedding model cannot be opened.
            StoreError: Chroma or the catalog failed.
        """
        from rag.index.sync import index_folder

        return index_folder(
            path,
            settings=self.settings,
            open_embedder=self._index_embedder,
            model_explicit=self.settings.embed_model is not None,
            rebuild=rebuild,
            dry_run=dry_run,
            no_wait=no_wait,
            progress=progress,
            include=tuple(include),
            exclude=tuple(exclude),
            take_over=take_over,
        )

    def remove(self, path: str | Path, *, no_wait: bool = False) -> RemoveReport:
        """Drop a file or folder from the collection: a path on disk under an indexed folder, or a source prefix such
        as `docs/old` (as shown in citations). Raises `IngestError` when nothing indexed matches."""
        from rag.index.sync import remove_path

        return remove_path(path, settings=self.settings, no_wait=no_wait)

    def status(self) -> Status:
        """Where the index lives (folder, Chroma data or server, catalogs) and each collection's model and counts."""
        from rag.index.status import index_status

        return index_status(self.settings)

    # ---- query side (issue 6): retrieve, ask, ask_stream, chat ----

    @property
    def _query_engine(self) -> QueryEngine:
        """Retriever + answerer over the committed index (opened once, on first use; StoreError while there is none,
        and the next call tries again)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from rag.answer.engine import open_query_engine

                    self._engine = open_query_engine(self.settings, self.client)
        return self._engine

    def chunk(self, chunk_id: str) -> Chunk | None:
        """The indexed chunk with this id (text, source, pages, character span, headings), or None."""
        return self._query_engine.retriever.catalog.get_chunks([chunk_id]).get(chunk_id)

    def retrieve(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: RetrievalMode = "hybrid",
        path: str | None = None,
        file_types: str | Sequence[str] | None = None,
        mmr: float | None = None,
    ) -> list[Hit]:
        """The top-k chunks for `question`, best first, each with dense, BM25 and fused scores.

        Args:
            k: how many (default settings.top_k).
            mode: "hybrid" (dense + BM25 fused by reciprocal rank fusion), "dense" or "bm25".
            path: keep only sources matching this glob (`*.pdf`, `docs/*`; matched against `<root>/<rel>` and `<rel>`).
            file_types: keep only these kinds (`rag.vocab.FILE_TYPES`: "pdf", "markdown", "docx", ...).
            mmr: maximal-marginal-relevance lambda in [0, 1] for diverse hits (None: off).

        Raises:
            StoreError: no index yet (run `rag index FOLDER`), or Chroma failed.
            OllamaError: the query could not be embedded (dense/hybrid modes with an Ollama embedding model).
        """
        return self._query_engine.retrieve(question, k=k, mode=mode, path=path, file_types=_types(file_types), mmr=mmr)

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        mode: RetrievalMode = "hybrid",
        path: str | None = None,
        file_types: str | Sequence[str] | None = None,
        mmr: float | None = None,
        min_score: float | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> Answer:
        """Answer `question` from the index with verified citations (see `rag.answer.types.Answer`).

        Abstains without calling a model when the best hit's dense cosine is under `min_score` (default
        settings.min_score). Falls back to an extractive answer (with a warning) when the chat model is "none",
        Ollama is unreachable or the model is not installed. Retrieval options as in `retrieve`. `on_event(name, data)`
        hears progress ("retrieved" {hits, ms}, "waiting" {model}) for a status line.

        Raises:
            ModelOutputError: the chat model's reply broke the answer schema twice.
            StoreError, OllamaError: as for `retrieve`, and chat errors other than the fallbacks above.
        """
        return self._query_engine.ask(
            question,
            k=k,
            mode=mode,
            path=path,
            file_types=_types(file_types),
            mmr=mmr,
            min_score=min_score,
            on_event=on_event,
        )

    def ask_stream(  # noqa: PLR0913
        self,
        question: str,
        *,
        k: int | None = None,
        mode: RetrievalMode = "hybrid",
        path: str | None = None,
        file_types: str | Sequence[str] | None = None,
        mmr: float | None = None,
        min_score: float | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
        on_retrieval: Callable[[list[Hit]], None] | None = None,
    ) -> Iterator[str | Answer]:
        """Like `ask`, but yields the answer text in pieces as the model writes it, then the final `Answer`.

        `on_retrieval` is called with the hits as soon as retrieval is done, before the first piece."""
        return self._query_engine.ask_stream(
            question,
            k=k,
            mode=mode,
            path=path,
            file_types=_types(file_types),
            mmr=mmr,
            min_score=min_score,
            on_event=on_event,
            on_retrieval=on_retrieval,
        )

    def chat(
        self,
        *,
        k: int | None = None,
        mode: RetrievalMode = "hybrid",
        path: str | None = None,
        file_types: str | Sequence[str] | None = None,
        mmr: float | None = None,
        min_score: float | None = None,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> ChatSession:
        """A multi-turn `ChatSession`: `.ask(message) -> Answer`; follow-ups are rewritten to stand alone."""
        from rag.answer.chat import ChatSession

        return ChatSession(
            self._query_engine,
            k=k,
            mode=mode,
            path=path,
            file_types=_types(file_types),
            mmr=mmr,
            min_score=min_score,
            on_event=on_event,
        )

    def doctor(self) -> DoctorReport:
        """Check the setup: Ollama and its version, the embed and chat models (installed, context length,
        capabilities), the index manifest against the embed model, Chroma, and the built-in embedder.
        `report.exit_code(strict)` gives `rag doctor`'s exit code (0 ready, 1 warnings when strict, 2 broken)."""
        from rag.doctor import doctor

        return doctor(self.settings, self.client)

    def close(self) -> None:
        """Release the Ollama connection pool and open stores (after the last call from any thread)."""
        with self._lock:
            engine, client, self._engine, self._client = self._engine, self._client, None, None
        if engine is not None:
            engine.close()
        if client is not None:
            client.close()

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _types(file_types: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """One kind or several, as a tuple (None: no filter)."""
    if file_types is None:
        return None
    return (file_types,) if isinstance(file_types, str) else tuple(file_types)
