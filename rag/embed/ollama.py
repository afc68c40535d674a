"""Embeddings from an Ollama server's POST /api/embed, batched, with the context fitted to each batch."""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from rag.embed.base import DEFAULT_BATCH_SIZE, DEFAULT_IN_FLIGHT, Embedder, _unit
from rag.errors import ContextLengthExceeded, OllamaError
from rag.ollama.models import require_model

if TYPE_CHECKING:
    from rag.ollama import Client

MIN_NUM_CTX = 512
"""Smallest options.num_ctx sent; sizes grow in powers of two so Ollama reloads the model rarely."""


class OllamaEmbedder(Embedder):
    """Embeddings from POST /api/embed, `batch_size` texts per request, at most `in_flight` requests at once.

    Documents go with `truncate: false` and an `options.num_ctx` that fits the batch (so nothing is cut silently);
    when Ollama refuses a batch as too long, it is bisected to find the texts over the context, which come back None.

    Args:
        client: the rag.ollama.Client to use (shared; closed by `close()` only when `owns_client`).
        model: the Ollama model name as the server knows it.
        batch_size / in_flight: texts per request, and concurrent requests (Ollama's parallel slots).
        digest: the model digest, when the caller already read /api/tags.
    """

    backend = "ollama"

    def __init__(
        self,
        client: Client,
        model: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        in_flight: int = DEFAULT_IN_FLIGHT,
        *,
        digest: str | None = None,
        owns_client: bool = False,
    ) -> None:
        if batch_size < 1 or in_flight < 1:
            raise ValueError("batch_size and in_flight must be at least 1")
        super().__init__(model)
        self.client = client
        self.batch_size = batch_size
        self.in_flight = in_flight
        self._name = model.strip()
        self._digest = digest
        self._owns_client = owns_client
        self._dimension: int | None = None
        self._shown = False
        self._num_ctx = 0  # largest num_ctx sent so far: never go lower, or Ollama reloads the model
        self._lock = threading.Lock()

    def _show(self) -> None:
        """Read context and embedding length from /api/show once (a server without the fields leaves them None)."""
        if not self._shown:
            shown = self.client.show(self._name)
            self.max_tokens = shown.context_length or None
            self._dimension = self._dimension or shown.embedding_length or None
            self._shown = True

    @property
    def dimension(self) -> int | None:
        if self._dimension is None:
            self._show()
        return self._dimension

    @property
    def digest(self) -> str | None:
        if self._digest is None:
            self._digest = require_model(self.client.tags(), self._name).digest or None
        return self._digest

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def _embed(self, texts: list[str], *, query: bool) -> list[np.ndarray | None]:
        if not texts:
            return []
        self._show()
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        if len(batches) == 1 or self.in_flight == 1:
            results = [self._embed_batch(b, query) for b in batches]
        else:
            results = self._concurrently(batches, query)
        return [v for batch in results for v in batch]

    def _concurrently(self, batches: list[list[str]], query: bool) -> list[list[np.ndarray | None]]:
        """Run the batches with at most `in_flight` requests open; the first error cancels the batches not started."""
        pool = ThreadPoolExecutor(max_workers=min(self.in_flight, len(batches)), thread_name_prefix="rag-embed")
        try:
            futures: list[Future[list[np.ndarray | None]]] = [pool.submit(self._embed_batch, b, query) for b in batches]
            return [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _embed_batch(self, texts: list[str], query: bool) -> list[np.ndarray | None]:
        """Vectors for one batch; on ContextLengthExceeded, bisect to return None for exactly the texts too long."""
        try:
            response = self.client.embed(self._name, texts, truncate=query, options=self._options(texts))
        except ContextLengthExceeded:
            if query:
                raise
            if len(texts) == 1:
                return [None]
            mid = len(texts) // 2
            return self._embed_batch(texts[:mid], query) + self._embed_batch(texts[mid:], query)
        if len(response.embeddings) != len(texts):
            raise OllamaError(
                f"Ollama returned {len(response.embeddings)} vectors for {len(texts)} inputs to {self._name}. "
                "Upgrade Ollama, or check the server log."
            )
        try:
            vectors = _unit(np.asarray(response.embeddings, dtype=np.float64))
        except (TypeError, ValueError) as exc:  # ragged rows, null or text components
            raise OllamaError(f"Ollama sent malformed vectors for {self._name} ({exc}). Check the server log.") from exc
        if vectors.ndim != 2:
            raise OllamaError(f"Ollama sent malformed vectors for {self._name}. Check the server log.")
        if self._dimension is None:
            self._dimension = int(vectors.shape[1])
        return list(vectors)

    def _options(self, texts: list[str]) -> dict[str, int] | None:
        """options.num_ctx fitting the batch's longest text (generous estimate, a power of two, capped at the model's
        context length), never lower than one already sent; None when the model's context length is unknown."""
        if not self.max_tokens:
            return None
        longest = max(_generous_tokens(t) for t in texts)
        wanted = max(MIN_NUM_CTX, 1 << math.ceil(math.log2(max(longest, 1))))
        with self._lock:
            self._num_ctx = max(self._num_ctx, min(wanted, self.max_tokens))
            return {"num_ctx": self._num_ctx}


def _generous_tokens(text: str) -> int:
    """An over-estimate of any subword tokenizer's count: half the UTF-8 bytes (2x for English, 1.5/char for CJK)."""
    return len(text.encode("utf-8")) // 2 + 8


__all__ = ["MIN_NUM_CTX", "OllamaEmbedder"]
