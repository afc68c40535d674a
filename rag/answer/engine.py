"""From a question to an `Answer`: retrieve, abstain or answer (generative, else extractive), with timings.

Abstention floor: `Settings.min_score` is compared with the best hit's *dense cosine similarity* (fused RRF scores
depend only on ranks, so a floor on them means nothing). When no hit has a dense score (mode "bm25", or the dense leg
was unavailable) only an empty result abstains. A CJK question over an index whose embedder is not known to read CJK
(`rag.embed.langs`) must also pass a floor on lexical evidence (`rag.answer.evidence`): its cosine says nothing there;
`min_score` 0 disables both floors. Fallbacks to extractive answers (with a warning): chat model
"none", Ollama unreachable, chat model not installed. A model whose replies break the schema twice raises
`ModelOutputError` instead: the user should know their model is unsuitable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from rag.answer.context import focus
from rag.answer.evidence import CJK_EVIDENCE_FLOOR, evidence_of, needs_lexical_floor
from rag.answer.extractive import extractive_answer
from rag.answer.generative import GenerativeAnswerer
from rag.answer.types import Answer, Timings, abstained, elapsed_ms
from rag.config import Settings
from rag.embed.langs import PULL_FOR_CHINESE, is_multilingual
from rag.errors import EmbedderError, ModelNotFound, OllamaUnreachable
from rag.retrieve.hybrid import Hit, Retriever, best_dense
from rag.vocab import NO_CHAT_MODEL, RetrievalMode

if TYPE_CHECKING:
    from rag.ollama import Client

UNREACHABLE_WARNING = (
    "Ollama is not reachable at {host}: extractive answer (start `ollama serve` for generated "
    "answers, or pass `--chat-model none` to silence this)"
)
OnEvent = Callable[[str, dict[str, Any]], None]
"""A progress callback: `on_event(name, data)`."""
DENSE_DOWN_WARNING = "dense retrieval unavailable ({error}); using BM25 only"
REBUILD_RETRIES = 3
"""Times a question is retrieved again when a rebuild switched builds while it was being retrieved (the old build is
deleted right after the switch, so its results may be partial)."""

_R = TypeVar("_R")


class QueryEngine:
    """Answers questions over one collection.

    Args:
        retriever: the collection's `Retriever`.
        client: the Ollama client (chat calls; also the reachability check).
        settings: models, k, floors, prompts, strictness.
    """

    def __init__(
        self, retriever: Retriever, client: Client, settings: Settings, closers: Iterable[Callable[[], None]] = ()
    ) -> None:
        self.retriever = retriever
        self.client = client
        self.settings = settings
        self._backend: Any = None
        self._lock = threading.Lock()  # creates the chat backend once, whichever thread asks first
        self._closers = list(closers)
        self._reachable = False  # only success is remembered: a server started later is still noticed
        self._multilingual: tuple[bool | None] | None = None  # cached answer of _embedder_multilingual

    def close(self) -> None:
        """Close the catalog and any in-process chat model (the Ollama client belongs to the caller)."""
        for close in self._closers:
            close()
        if self._backend is not None and self._backend is not self.client:
            self._backend.close()

    def backend(self) -> Any:
        """The chat backend for settings.chat_model (Ollama client, or in-process llama.cpp for gguf:PATH)."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    from rag.answer.llamacpp import open_chat_backend

                    self._backend = open_chat_backend(self.settings, self.client)
        return self._backend

    def chat_available(self) -> str | None:
        """None when the chat model can be called, else why not (a warning for the extractive fallback)."""
        if self.settings.chat_model.strip().lower() == NO_CHAT_MODEL:
            return ""
        if self.backend() is self.client and not self._reachable:
            self._reachable = self.client.is_reachable()
            if not self._reachable:
                return UNREACHABLE_WARNING.format(host=self.client.host)
        return None

    def retrieve(
        self,
        query: str,
        *,
        k: int | None = None,
        mode: RetrievalMode = "hybrid",
        path: str | None = None,
        file_types: Iterable[str] | None = None,
        mmr: float | None = None,
        warnings: list[str] | None = None,
    ) -> list[Hit]:
        """Hits for `query`; in hybrid mode a dense leg that cannot embed (Ollama down) degrades to BM25 with a
        warning."""
        k = k or self.settings.top_k
        try:
            return self.retriever.retrieve(query, k, mode, path, file_types, mmr)
        except (OllamaUnreachable, ModelNotFound, EmbedderError) as exc:
            if mode != "hybrid":
                raise
            if warnings is not None:
                warnings.append(DENSE_DOWN_WARNING.format(error=exc))
            return self.retriever.retrieve(query, k, "bm25", path, file_types, mmr)

    def _embedder_multilingual(self) -> bool | None:
        """Whether the index's embedding model reads CJK (True/False; None: unknown model or no index manifest)."""
        if self._multilingual is None:
            catalog = getattr(self.retriever, "catalog", None)
            manifest = catalog.manifest() if catalog is not None else None
            if manifest is not None and manifest.dimension:
                self._multilingual = (is_multilingual(manifest.embed_model),)
            else:  # no dense leg: nothing but words to judge a CJK question by
                self._multilingual = (False,)
        return self._multilingual[0]

    def _bm25(self) -> Any:
        try:
            return self.retriever.bm25()
        except (OSError, ValueError):  # the idf is a refinement: evidence without it weighs every token 1
            return None

    def _retrieve_or_abstain(
        self, question: str, query: str, search: dict[str, Any], floor: float | None, warnings: list[str]
    ) -> tuple[list[Hit], float, Answer | None]:
        start = time.perf_counter()
        hits = self.retrieve(query, warnings=warnings, **search)
        retrieval_ms = elapsed_ms(start)
        floor = self.settings.min_score if floor is None else floor
        best = best_dense(hits)
        reason = ""
        if not hits:
            reason = "no indexed chunk matched the question"
        elif best is not None and best < floor:
            reason = (
                f"no passage is close enough to the question (best match {best:.2f}, needs {floor:.2f}; "
                "lower --min-score to answer anyway)"
            )
        elif floor > 0 and needs_lexical_floor(query, self._embedder_multilingual()):
            evidence = evidence_of(query, hits, self._bm25())
            if evidence < CJK_EVIDENCE_FLOOR:
                reason = (
                    f"lexical evidence {evidence:.2f} is under the CJK floor {CJK_EVIDENCE_FLOOR} (the embedding "
                    f"model cannot judge Chinese text; `ollama pull {PULL_FOR_CHINESE}` for one that can)"
                )
        if not reason:
            return hits, retrieval_ms, None
        timings = Timings(retrieval_ms=retrieval_ms, total_ms=elapsed_ms(start))
        return hits, retrieval_ms, abstained(question, hits, query=query, timings=timings, reason=reason)

    def ask(
        self,
        question: str,
        *,
        query: str | None = None,
        min_score: float | None = None,
        on_event: OnEvent | None = None,
        **search: Any,
    ) -> Answer:
        """Answer `question`, retrieving with `query` when given (a rewritten chat follow-up).

        `search`: k, mode, path, file_types, mmr (see `retrieve`); `min_score` overrides the abstention floor.
        `on_event(name, data)` hears progress: "retrieved" {hits, ms}, "waiting" {model} before the chat call.
        """
        answer = None
        for item in self._run(question, query, min_score, search, stream=False, on_event=on_event):
            answer = item
        assert isinstance(answer, Answer)
        return answer

    def ask_stream(
        self,
        question: str,
        *,
        query: str | None = None,
        min_score: float | None = None,
        on_event: OnEvent | None = None,
        on_retrieval: Callable[[list[Hit]], None] | None = None,
        **search: Any,
    ) -> Iterator[str | Answer]:
        """Like `ask`, but yield answer text pieces as they are generated, then the final `Answer`.

        `on_retrieval(hits)` is called once retrieval is done, before the first piece."""
        return self._run(question, query, min_score, search, stream=True, on_event=on_event, on_retrieval=on_retrieval)

    def _run(
        self,
        question: str,
        query: str | None,
        min_score: float | None,
        search: dict[str, Any],
        *,
        stream: bool,
        on_event: OnEvent | None = None,
        on_retrieval: Callable[[list[Hit]], None] | None = None,
    ) -> Iterator[str | Answer]:
        start = time.perf_counter()
        query = query or question
        warnings: list[str] = []
        hits, retrieval_ms, answer = self._retrieve_or_abstain(question, query, search, min_score, warnings)
        hits = focus(hits, self.settings.context_gap)
        _emit(on_event, "retrieved", hits=len(hits), ms=retrieval_ms)
        if on_retrieval is not None:
            on_retrieval(hits)
        if answer is None:
            why_not = self.chat_available()
            if why_not is None:
                _emit(on_event, "waiting", model=self.settings.chat_model)
            try:
                if why_not is None and stream:
                    for item in GenerativeAnswerer(self.backend(), self.settings).stream(
                        query, hits, query=query, retrieval_ms=retrieval_ms
                    ):
                        if isinstance(item, Answer):
                            answer = item
                        else:
                            yield item
                elif why_not is None:
                    answer = GenerativeAnswerer(self.backend(), self.settings).answer(
                        query, hits, query=query, retrieval_ms=retrieval_ms
                    )
            except (ModelNotFound, OllamaUnreachable) as exc:
                why_not = str(exc)
            if answer is None:
                if why_not:
                    warnings.append(why_not)
                answer = extractive_answer(question, hits, query=query, timings=Timings(retrieval_ms=retrieval_ms))
                if stream:
                    yield answer.answer
            answer = _replace(answer, question=question)
        yield _with_timing(_with_warnings(answer, warnings), start)


def _emit(on_event: OnEvent | None, name: str, **data: Any) -> None:
    if on_event is not None:
        on_event(name, data)


def open_query_engine(settings: Settings, client: Client) -> QueryEngine:
    """The engine over the collection in settings: its reader (catalog, or the server's chunks) now, Chroma and the
    embedder on the first dense query.

    The query is embedded with the model recorded in the index manifest (not settings.embed_model), through
    settings.embed_backend. Raises StoreError when the collection has no index yet. Questions follow a rebuild's
    switch: a server reader refreshes from the registry, an embedded one moves to the new build
    (`rag.store.generation`) at its next question, and the store reopens on a vanished collection. With the Chroma
    server down dense queries raise `DenseUnavailable`, which the engine turns into a BM25-only answer with a warning.
    """
    import threading

    from rag.store import generation, open_index
    from rag.store.chroma_errors import DenseUnavailable, StoreUnreachable

    index = open_index(settings)
    reader = index.open_reader()
    lazy: dict[str, Any] = {"manifest": reader.manifest()}
    retired: list[Any] = []  # readers of builds a rebuild replaced: questions in flight may still use them
    lock = threading.Lock()

    def store() -> Any:
        with lock:
            if "store" not in lazy:
                server = getattr(reader, "store", None)
                lazy["store"] = server() if server is not None else index.open_store(create=False)
            return lazy["store"]

    def query_dense(vector: Any, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        offline = getattr(reader, "offline", None)
        try:
            if offline:
                raise StoreUnreachable(offline)
            return store().query(vector, n, where)
        except StoreUnreachable as exc:
            raise DenseUnavailable(str(exc)) from exc

    def embed_query(text: str) -> Any:
        with lock:
            if "embedder" not in lazy:
                from rag.embed import open_embedder

                manifest = lazy["manifest"]
                model = manifest.embed_model if manifest is not None else ""
                lazy["embedder"] = open_embedder(model, settings.embed_backend, client, int8=settings.builtin_int8)
            embedder = lazy["embedder"]
        return embedder.embed_query(text)

    def close() -> None:
        for old in [retriever.catalog, *retired]:
            old.close()
        if "store" in lazy and getattr(reader, "store", None) is None:
            lazy["store"].close()

    class _Refreshing(Retriever):
        """Brings the reader up to date once per question: a server reader to the server's generation (one registry
        read), an embedded one to the build its pointer names (one small file read)."""

        tag = index.layout.tag

        def retrieve(self, *args: Any, **kwargs: Any) -> list[Hit]:
            refresh = getattr(reader, "refresh", None)
            if refresh is not None:
                refresh()
                return super().retrieve(*args, **kwargs)
            for _ in range(REBUILD_RETRIES):
                if self._current() != self.tag:
                    self._follow_rebuild()
                tag = self.tag
                hits = super().retrieve(*args, **kwargs)
                if self._current() == tag:
                    return hits  # the build was current throughout: a rebuild deletes it only after its switch
            return hits  # rebuilt again and again while asking: the last build's answer

        @staticmethod
        def _current() -> str | None:
            return generation.current_tag(index.layout.home, index.layout.collection)

        def _follow_rebuild(self) -> None:
            with lock:
                fresh = open_index(settings)
                if fresh.layout.tag == self.tag:
                    return
                catalog = fresh.open_reader()
                manifest = catalog.manifest()
                old = lazy["manifest"]
                if manifest is None or old is None or manifest.embed_model != old.embed_model:
                    lazy.pop("embedder", None)  # a rebuild with another model: embed questions with that one
                    self._multilingual = None
                lazy["manifest"] = manifest
                if "store" in lazy:
                    lazy["store"].reopen()
                with self._bm25_lock:
                    retired.append(self.catalog)
                    self.catalog = catalog
                    self._bm25_path = fresh.reader_bm25
                    self._bm25 = None
                self.tag = fresh.layout.tag

    manifest = lazy["manifest"]
    dense = manifest is not None and bool(manifest.dimension)
    retriever = _Refreshing(
        reader,
        query_dense=query_dense if dense else None,
        embed_query=embed_query if dense else None,
        bm25_path=index.reader_bm25,
        rrf_k=settings.rrf_k,
    )
    return QueryEngine(retriever, client, settings, closers=[close])


def _replace(answer: _R, **changes: Any) -> _R:
    import dataclasses

    return dataclasses.replace(answer, **changes)  # type: ignore[type-var]


def _with_warnings(answer: Answer, warnings: list[str]) -> Answer:
    extra = tuple(w for w in warnings if w not in answer.warnings)
    return _replace(answer, warnings=extra + answer.warnings) if extra else answer


def _with_timing(answer: Answer, start: float) -> Answer:
    return _replace(answer, timings=_replace(answer.timings, total_ms=elapsed_ms(start)))


__all__ = ["OnEvent", "QueryEngine", "open_query_engine"]
