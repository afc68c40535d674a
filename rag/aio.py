"""`AsyncRAG`: `async def` twins of `RAG`'s query methods for asyncio apps, run in worker threads off the event loop.

Cancellation: cancelling `ask`, `retrieve`, `status`, `chunk` or `index` returns control to the caller at once (the
awaiting task gets `CancelledError`); the thread finishes the blocking call it is in (bounded by the Ollama timeout)
and its result is dropped. Cancelling the consumer of `ask_stream` (or leaving its loop) also stops the work: the
producing thread closes the answer stream before the next piece, which closes the HTTP stream to the model.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from rag.api import RAG

if TYPE_CHECKING:
    from ingest.chunking import Chunk
    from rag.answer.types import Answer
    from rag.index.report import IndexReport, Status
    from rag.retrieve.hybrid import Hit

DEFAULT_THREADS = 8
"""Worker threads per `AsyncRAG`: how many blocking calls run at once; more calls wait their turn."""
_T = TypeVar("_T")
_ITEM, _ERROR, _END = "item", "error", "end"


class AsyncRAG:
    """Awaitable face of one `RAG` (thread-safe, so every call may run at once).

    Args:
        rag: the `RAG` to wrap (it stays the caller's to close); None: make one from `**options` (closed by `aclose`).
        threads: worker threads for the blocking calls.
        **options: `RAG(...)` arguments when `rag` is None.

    Use `async with AsyncRAG(...) as arag:`, or call `await arag.aclose()` when done.
    """

    def __init__(self, rag: RAG | None = None, *, threads: int = DEFAULT_THREADS, **options: Any) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        self.rag = rag if rag is not None else RAG(**options)
        self._owns = rag is None
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="rag-aio")

    async def _call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def ask(self, question: str, **options: Any) -> Answer:
        """`RAG.ask` (same options) off the event loop."""
        return await self._call(self.rag.ask, question, **options)

    async def retrieve(self, question: str, **options: Any) -> list[Hit]:
        """`RAG.retrieve` (same options) off the event loop."""
        return await self._call(self.rag.retrieve, question, **options)

    async def status(self) -> Status:
        return await self._call(self.rag.status)

    async def chunk(self, chunk_id: str) -> Chunk | None:
        return await self._call(self.rag.chunk, chunk_id)

    async def index(self, path: str | Path, **options: Any) -> IndexReport:
        """`RAG.index` (same options) off the event loop; a `progress` callback runs in the worker thread."""
        return await self._call(self.rag.index, path, **options)

    async def ask_stream(self, question: str, **options: Any) -> AsyncIterator[str | Answer]:
        """`RAG.ask_stream` as an async iterator: answer text pieces, then the final `Answer`.

        Stopping early (break, `aclose()`, or cancelling the consuming task) stops the producing thread."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stop = threading.Event()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        def produce() -> None:
            stream = self.rag.ask_stream(question, **options)
            try:
                for item in stream:
                    if stop.is_set():
                        break
                    put(_ITEM, item)
            except BaseException as exc:
                put(_ERROR, exc)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
                put(_END, None)

        loop.run_in_executor(self._executor, produce)
        try:
            while True:
                kind, value = await queue.get()
                if kind == _END:
                    return
                if kind == _ERROR:
                    raise value
                yield value
        finally:
            stop.set()

    async def aclose(self) -> None:
        """Wait for the worker threads to finish their calls, then close the `RAG` if this object made it."""
        await asyncio.get_running_loop().run_in_executor(None, functools.partial(self._executor.shutdown, wait=True))
        if self._owns:
            self.rag.close()

    async def __aenter__(self) -> AsyncRAG:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = ["DEFAULT_THREADS", "AsyncRAG"]
