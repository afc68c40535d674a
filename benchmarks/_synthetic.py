"""The synthetic corpus of the scale benchmarks (bench_query, bench_scale): Zipf pseudo-word chunks, files of
CHUNKS_PER_FILE chunks, random unit vectors, written into a real index through the layers."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ingest.chunking import Chunk
    from rag.store.catalog import FileRecord

WORDS_PER_CHUNK = 120
CHUNKS_PER_FILE = 100
FILES_PER_COMMIT = 20
VOCAB = 30_000
QUERIES = 100
WARMUP = 5


def _vocab(rng: np.random.Generator) -> list[str]:
    """VOCAB distinct pseudo-words built from syllables."""
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: dict[str, None] = {}
    while len(words) < VOCAB:
        n = int(rng.integers(1, 4))
        words["".join(rng.choice(syllables, n))] = None
    return list(words)


def texts(n: int, seed: int = 0) -> list[str]:
    """n chunk texts of WORDS_PER_CHUNK Zipf-distributed words in sentences of 12."""
    rng = np.random.default_rng(seed)
    vocab = np.array(_vocab(rng))
    ranks = np.minimum(rng.zipf(1.1, size=(n, WORDS_PER_CHUNK)) - 1, VOCAB - 1)
    out = []
    for row in vocab[ranks]:
        sentences = [" ".join(row[i : i + 12]).capitalize() + "." for i in range(0, WORDS_PER_CHUNK, 12)]
        out.append(" ".join(sentences))
    return out


def source_of(file_number: int) -> str:
    """The source key of synthetic file `file_number`."""
    return f"synthetic/file{file_number:05d}.txt"


def file_chunks(
    source: str, chunk_texts: list[str], root: Path, first_id: int | str, *, version: int = 0
) -> tuple[FileRecord, list[Chunk]]:
    """One synthetic file's catalog record and chunks. Ids are `first_id + ordinal` as 32 hex digits (an int), or
    `first_id` followed by the ordinal (a str); `version` > 0 gives the file another hash and mtime (a change)."""
    from ingest.chunking import Chunk
    from rag.store.catalog import FileRecord

    sha = str(min(version, 9)) * 64
    chunks, pos = [], 0
    for ordinal, text in enumerate(chunk_texts):
        chunk_id = f"{first_id + ordinal:032x}" if isinstance(first_id, int) else f"{first_id}{ordinal:04d}"
        chunks.append(
            Chunk(
                id=chunk_id,
                text=text,
                source=source,
                ordinal=ordinal,
                char_start=pos,
                char_end=pos + len(text),
                page_start=None,
                page_end=None,
                heading_path=(),
                file_sha256=sha,
            )
        )
        pos += len(text) + 1
    record = FileRecord(
        source=source, root=str(root), size=pos, mtime_ns=version, sha256=sha, kind="text", chunks=len(chunks)
    )
    return record, chunks


def unit_vectors(n: int, dimension: int, seed: int) -> np.ndarray:
    """n random unit vectors (float32)."""
    vectors = np.random.default_rng(seed).standard_normal((n, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def build(n: int, folder: Path, *, sentences: int = 0) -> None:
    """Write an index of n synthetic chunks into folder (catalog + embedded Chroma + BM25), unless it exists;
    `sentences`: random sentence vectors stored per chunk (`rag.store.sentence_vectors`)."""
    from rag.config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_TOKENS
    from rag.embed import minilm
    from rag.ollama.models import normalize_model
    from rag.retrieve import bm25
    from rag.store import sentence_vectors
    from rag.store.catalog import Catalog
    from rag.store.chroma import ChromaStore
    from rag.store.layout import layout
    from rag.store.manifest import Manifest

    done = folder / "built.json"
    if done.is_file():
        return
    started = time.perf_counter()
    paths = layout(folder, None, "default")
    folder.mkdir(parents=True, exist_ok=True)
    corpus = texts(n)
    rng = np.random.default_rng(1)
    manifest = Manifest(
        embed_model=normalize_model(minilm.MODEL_NAME),
        dimension=minilm.DIMENSION,
        prefix_scheme=None,
        chunk_tokens=DEFAULT_CHUNK_TOKENS,
        chunk_overlap=DEFAULT_CHUNK_OVERLAP,
        chunker_version="synthetic",
        embed_backend="builtin",
        embed_digest=minilm.digest(),
    )
    store = ChromaStore(folder, None, "default")
    with Catalog(paths.catalog, collection="default") as catalog:
        batch: list[tuple[FileRecord, list[Chunk]]] = []
        for f in range(0, n, CHUNKS_PER_FILE):
            record, chunks = file_chunks(source_of(f // CHUNKS_PER_FILE), corpus[f : f + CHUNKS_PER_FILE], folder, f)
            batch.append((record, chunks))
            if len(batch) == FILES_PER_COMMIT or f + CHUNKS_PER_FILE >= n:
                every = [c for _, cs in batch for c in cs]
                vectors = rng.standard_normal((len(every), minilm.DIMENSION)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                blobs: list[bytes | None] = [None] * len(every)
                if sentences:
                    rows = unit_vectors(len(every) * sentences, minilm.DIMENSION, f)
                    blobs = [sentence_vectors.quantize(r) for r in rows.reshape(len(every), sentences, -1)]
                store.upsert(every, list(vectors), ["text"] * len(every), blobs)
                by_id = {c.id: b for c, b in zip(every, blobs, strict=True) if b}
                catalog.commit_files(batch, manifest=manifest, sentences=by_id)
                batch = []
                print(f"\rbuilding {n}: {f + len(chunks)}/{n}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        bm25.load_or_build(catalog, paths.bm25)
    store.write_manifest(manifest)
    done.write_text(json.dumps({"chunks": n, "build_s": time.perf_counter() - started}), encoding="utf-8")
