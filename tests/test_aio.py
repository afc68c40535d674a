"""`AsyncRAG`: the blocking work runs off the event loop, answers match `RAG`, and cancellation returns at once
and stops the stream's producing thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rag import RAG
from rag.aio import AsyncRAG
from rag.answer.types import Answer
from support.answers import unmarked
from support.hits import write_docs

QUESTION = "What does the embed endpoint return?"
DEADLINE_S = 60


@pytest.fixture
def rag(tmp_path: Path, ollama):
    write_docs(tmp_path / "docs")
    with RAG(tmp_path / "index", embed_backend="ollama", min_score=0.0) as rag:
        rag.index(tmp_path / "docs")
        ollama.reset()
        yield rag


async def _until(condition, what: str) -> None:
    """Wait (on the loop, never blocking it) until `condition()` holds, at most DEADLINE_S."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not condition():
        assert loop.time() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.01)


def test_async_faces_match_the_blocking_ones(rag: RAG) -> None:
    async def main():
        async with AsyncRAG(rag) as arag:
            answer, hits, status, pieces = await asyncio.gather(
                arag.ask(QUESTION),
                arag.retrieve(QUESTION, k=3),
                arag.status(),
                _collect(arag.ask_stream(QUESTION)),
            )
            chunk = await arag.chunk(hits[0].id)
        return answer, hits, status, pieces, chunk

    answer, hits, status, pieces, chunk = asyncio.run(main())
    assert isinstance(answer, Answer) and answer.answerable and answer.citations
    assert [h.id for h in hits] == [h.id for h in rag.retrieve(QUESTION, k=3)]
    assert status.collections[0].files == 5
    final = pieces[-1]
    assert isinstance(final, Answer) and unmarked("".join(pieces[:-1])) == unmarked(final.answer)
    assert chunk is not None and chunk.id == hits[0].id and chunk.text == hits[0].text


async def _collect(stream):
    return [item async for item in stream]


def test_cancelling_ask_returns_while_the_model_is_stuck(rag: RAG, ollama) -> None:
    ollama.hold("/api/chat", after=0)

    async def main():
        async with AsyncRAG(rag) as arag:
            task = asyncio.create_task(arag.ask(QUESTION))
            await _until(lambda: ollama.count("/api/chat") == 1, "the chat request")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            ollama.release()  # the thread finishes its call; aclose waits for it
            return await arag.ask(QUESTION)

    assert asyncio.run(main()).answerable


def test_cancelling_a_stream_consumer_stops_the_producer(rag: RAG, ollama) -> None:
    ollama.hold("/api/chat", after=0)
    got: list[object] = []

    async def consume(arag: AsyncRAG) -> None:
        async for item in arag.ask_stream(QUESTION):
            got.append(item)

    async def main():
        arag = AsyncRAG(rag, threads=1)
        task = asyncio.create_task(consume(arag))
        await _until(lambda: ollama.count("/api/chat") == 1, "the chat request")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ollama.release()
        await arag.aclose()  # returns only once the producing thread has stopped

    asyncio.run(main())
    assert got == []  # nothing was delivered after the cancel


def test_breaking_out_of_a_stream_closes_it(rag: RAG) -> None:
    async def main():
        async with AsyncRAG(rag, threads=1) as arag:
            stream = arag.ask_stream(QUESTION)
            first = await stream.__anext__()
            await stream.aclose()
            again = await arag.ask(QUESTION)  # the single thread is free again
        return first, again

    first, again = asyncio.run(main())
    assert isinstance(first, str) and first
    assert again.answerable
