"""Hybrid retrieval: dense (Chroma) and BM25 legs fused (rag.retrieve.fusion), near-duplicates dropped, filters,
optional MMR.

Every hit comes from the catalog (the committed state): dense ids the catalog does not know yet (an index run in
progress) are dropped, so an answer never mixes two states of the index. Each hit keeps its leg scores.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rag._result import Result
from rag.config import (
    DEFAULT_COLLAPSE,
    DEFAULT_DENSE_WEIGHT,
    DEFAULT_DENSE_WEIGHT_CJK,
    DEFAULT_FUSION,
    DEFAULT_RRF_K,
    DEFAULT_SENTENCE_WEIGHT,
)
from rag.retrieve.bm25 import BM25Index, load_or_build
from rag.retrieve.fusion import collapse, dense_weight_for, mmr, rrf, score_fusion, with_best_sentences
from rag.retrieve.text import is_cjk
from rag.vocab import FILE_TYPES, FUSIONS, RETRIEVAL_MODES, Fusion, RetrievalMode, check_choice

if TYPE_CHECKING:
    import numpy as np

    from rag.store.catalog import Catalog
    from rag.store.server_catalog import ServerCatalog

CANDIDATES_PER_K = 4
"""Each leg returns max(CANDIDATES_PER_K * k, MIN_CANDIDATES) candidates before fusion."""
MIN_CANDIDATES = 20


@dataclass(frozen=True)
class Hit(Result):
    """One retrieved chunk with where it is and how it scored."""

    id: str
    text: str
    source: str
    """Document storage key, `<root folder>/<relative path>`."""
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    heading_path: tuple[str, ...]
    ordinal: int
    """Position of the chunk in its document (0-based)."""
    dense_score: float | None
    """Cosine similarity to the query (None: not found by the dense leg, or not run)."""
    bm25_score: float | None
    """Okapi BM25 score (None: not found by the BM25 leg, or not run)."""
    score: float
    """Fused score (higher is better): reciprocal rank fusion, or weighted min-max scores (`rag.retrieve.fusion`)."""
    rank: int
    """1-based position in the result."""
    ocr: bool = False
    """Some of the chunk's text was read by OCR."""


def best_dense(hits: Iterable[Hit]) -> float | None:
    """The highest dense cosine among `hits`, or None when none has one."""
    scores = [h.dense_score for h in hits if h.dense_score is not None]
    return max(scores) if scores else None


def matches_path(source: str, pattern: str) -> bool:
    """True when `pattern` (fnmatch glob; `*` also crosses `/`) matches the source key or its path below the root."""
    rel = source.split("/", 1)[-1]
    return fnmatch.fnmatchcase(source, pattern) or fnmatch.fnmatchcase(rel, pattern)


class Retriever:
    """Retrieval over one collection.

    Args:
        catalog: the collection's catalog (chunk text and locations; files and their kinds).
        query_dense: `(vector, n, where) -> [(id, cosine distance)]`, e.g. `ChromaStore.query`; None: no dense leg.
        embed_query: `text -> vector` with the index's embedding model (query prefix applied); None: no dense leg.
        bm25_path: path stem of the persisted BM25 index (`IndexLayout.bm25`).
        rrf_k: reciprocal rank fusion constant.
        fusion: "rrf", "zscore" or "minmax" (see rag.retrieve.fusion).
        dense_weight: the dense leg's weight in score fusion; `dense_weight_cjk` replaces it for a Han/Kana query
            when the embedding model is not multilingual (rag.embed.langs; `multilingual` None: read the model name
            from the catalog's manifest).
        collapse: drop near-duplicate hits (overlapping chunks of one file, the same text twice) before the k.
        sentence_weight: with a weight > 0 the dense leg is re-scored by each candidate's best sentence
            (`rag.retrieve.fusion.with_best_sentences`, sentence vectors from the catalog), except for a Han/Kana
            query when the embedding model is not multilingual; 0: chunk vectors only.
    """

    def __init__(  # noqa: PLR0913
        self,
        catalog: Catalog | ServerCatalog,
        *,
        query_dense: Callable[[Any, int, dict[str, Any] | None], list[tuple[str, float]]] | None,
        embed_query: Callable[[str], np.ndarray] | None,
        bm25_path: Any,
        rrf_k: int = DEFAULT_RRF_K,
        fusion: Fusion = DEFAULT_FUSION,
        dense_weight: float = DEFAULT_DENSE_WEIGHT,
        dense_weight_cjk: float = DEFAULT_DENSE_WEIGHT_CJK,
        collapse: bool = DEFAULT_COLLAPSE,
        multilingual: bool | None = None,
        sentence_weight: float = DEFAULT_SENTENCE_WEIGHT,
    ) -> None:
        if fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {fusion!r}")
        self.catalog = catalog
        self._query_dense = query_dense
        self._embed_query = embed_query
        self._bm25_path = bm25_path
        self._bm25: BM25Index | None = None
        self._bm25_lock = threading.Lock()  # one thread reloads or rebuilds it; the others wait for that one
        self.rrf_k = rrf_k
        self.fusion: Fusion = fusion
        self.dense_weight = dense_weight
        self.dense_weight_cjk = dense_weight_cjk
        self.collapse = collapse
        self._multilingual = multilingual
        self.sentence_weight = sentence_weight
        self.warnings: list[str] = []
        """What went wrong on the way and was repaired (e.g. an unreadable BM25 side index rebuilt)."""

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        logging.getLogger("rag.retrieve.bm25").warning(message)

    def multilingual(self) -> bool:
        """Whether the index's embedding model handles Chinese/Japanese (rag.embed.langs), read once."""
        if self._multilingual is None:
            from rag.embed.langs import is_multilingual

            manifest = self.catalog.manifest()
            self._multilingual = bool(manifest is not None and is_multilingual(manifest.embed_model))
        return self._multilingual

    def bm25(self) -> BM25Index:
        """The BM25 index for the catalog's current generation (reloaded or rebuilt when the catalog changed)."""
        with self._bm25_lock:
            if self._bm25 is None or self._bm25.generation != self.catalog.generation():
                self._bm25 = load_or_build(self.catalog, self._bm25_path, warn=self._warn)
            return self._bm25

    def retrieve(
        self,
        question: str,
        k: int,
        mode: RetrievalMode = "hybrid",
        path_glob: str | None = None,
        file_types: Iterable[str] | None = None,
        mmr_lambda: float | None = None,
    ) -> list[Hit]:
        """The top `k` chunks for `question`, best first.

        Args:
            mode: "hybrid" (dense + BM25, fused), "dense" or "bm25".
            path_glob: keep only sources matching this glob (see `matches_path`).
            file_types: keep only these kinds (`rag.vocab.FILE_TYPES`: "pdf", "markdown", "docx", ...).
            mmr_lambda: re-rank the fused candidates by maximal marginal relevance (1.0: relevance only).
        """
        check_choice(mode, RETRIEVAL_MODES, "mode")
        if k <= 0:
            return []
        types = set(file_types or ())
        if types - set(FILE_TYPES):
            raise ValueError(f"file types must be among {FILE_TYPES}, not {sorted(types - set(FILE_TYPES))}")
        n = max(CANDIDATES_PER_K * k, MIN_CANDIDATES)
        allowed = self._allowed_sources(path_glob, types) if (path_glob or types) else None
        if allowed is not None and not allowed:
            return []
        dense, vector = self._dense(question, n, allowed) if mode in ("hybrid", "dense") else ([], None)
        sparse = self._sparse(question, n, allowed) if mode in ("hybrid", "bm25") else []
        dense_scores = {cid: 1.0 - dist for cid, dist in dense}
        fused = self._fuse(question, self._by_sentences(question, vector, dense_scores, sparse, n), sparse)
        chunks = self.catalog.get_chunks(fused)
        ranked = sorted(
            (
                (cid, s)
                for cid, s in fused.items()
                if cid in chunks and (allowed is None or chunks[cid].source in allowed)
            ),
            key=lambda item: (-item[1], item[0]),
        )
        if self.collapse:
            spans = {cid: (chunks[cid].source, chunks[cid].char_start, chunks[cid].char_end) for cid, _ in ranked}
            kept = set(collapse([cid for cid, _ in ranked], spans, {cid: chunks[cid].text for cid, _ in ranked}, n))
            ranked = [item for item in ranked if item[0] in kept]
        if mmr_lambda is not None:
            order = mmr(ranked[:n], {cid: chunks[cid].text for cid, _ in ranked[:n]}, k, mmr_lambda)
        else:
            order = [cid for cid, _ in ranked[:k]]
        bm25_scores = dict(sparse)
        return [
            _hit(chunks[cid], dense_scores.get(cid), bm25_scores.get(cid), fused[cid], rank)
            for rank, cid in enumerate(order, start=1)
        ]

    def _fuse(self, question: str, dense: list[tuple[str, float]], sparse: list[tuple[str, float]]) -> dict[str, float]:
        if self.fusion == "rrf":
            return rrf([[cid for cid, _ in dense], [cid for cid, _ in sparse]], self.rrf_k)
        weight = self.dense_weight
        if dense and sparse:
            weight = dense_weight_for(
                question, weight, multilingual=self.multilingual(), cjk_weight=self.dense_weight_cjk
            )
        return score_fusion(dense, sparse, dense_weight=weight, norm=self.fusion)

    def _allowed_sources(self, path_glob: str | None, types: set[str]) -> set[str]:
        return {
            source
            for source, record in self.catalog.files().items()
            if (not path_glob or matches_path(source, path_glob)) and (not types or record.kind in types)
        }

    def _dense(self, question: str, n: int, allowed: set[str] | None) -> tuple[list[tuple[str, float]], Any]:
        if self._query_dense is None or self._embed_query is None:
            return [], None
        where = None if allowed is None else {"source": {"$in": sorted(allowed)}}
        vector = self._embed_query(question)
        return self._query_dense(vector, n, where), vector

    def _by_sentences(
        self, question: str, vector: Any, dense: dict[str, float], sparse: list[tuple[str, float]], n: int
    ) -> list[tuple[str, float]]:
        """The dense leg as fusion sees it: re-scored by the candidates' best sentences when they have vectors."""
        items = list(dense.items())
        if vector is None or not dense or self.sentence_weight <= 0:
            return items
        if is_cjk(question) and not self.multilingual():
            return items
        candidates = list(dict.fromkeys([*dense, *(cid for cid, _ in sparse)]))
        stored = self.catalog.sentence_vectors(candidates, len(vector))
        if not stored:
            return items
        others = [cid for cid, _ in sparse]
        return with_best_sentences(items, others, stored, vector, weight=self.sentence_weight, n=n)

    def _sparse(self, question: str, n: int, allowed: set[str] | None) -> list[tuple[str, float]]:
        index = self.bm25()
        allowed_ids = None
        if allowed is not None:
            allowed_ids = [cid for cid, source in zip(index.ids, index.sources, strict=False) if source in allowed]
        return index.search(question, n, allowed_ids)


def _hit(chunk: Any, dense: float | None, bm25: float | None, score: float, rank: int) -> Hit:
    return Hit(
        id=chunk.id,
        text=chunk.text,
        source=chunk.source,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        heading_path=tuple(chunk.heading_path),
        ordinal=chunk.ordinal,
        dense_score=None if dense is None else round(dense, 6),
        bm25_score=None if bm25 is None else round(bm25, 6),
        score=round(score, 8),
        rank=rank,
        ocr=bool(getattr(chunk, "ocr", False)),
    )


__all__ = ["Hit", "Retriever", "best_dense", "matches_path"]
