"""ingest: files -> chunks with locations. Pure: no network, no vector store, no `rag` import."""

from ingest.chunking import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_TOKENS, Chunk, chunk, estimate_tokens, split_chunk
from ingest.discover import DEFAULT_MAX_FILE_BYTES, SourceFile, discover
from ingest.document import Document, Page, Section
from ingest.errors import IngestError
from ingest.loaders import DEFAULT_MAX_PAGES, load
from ingest.pipeline import (
    DEFAULT_MAX_CHUNKS_PER_FILE,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WORKERS,
    ExtractParams,
    extract,
    extract_many,
)
from ingest.report import FileReport

__all__ = [
    "Chunk",
    "DEFAULT_CHUNK_OVERLAP",
    "DEFAULT_CHUNK_TOKENS",
    "DEFAULT_MAX_CHUNKS_PER_FILE",
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WORKERS",
    "Document",
    "ExtractParams",
    "FileReport",
    "IngestError",
    "Page",
    "Section",
    "SourceFile",
    "chunk",
    "discover",
    "estimate_tokens",
    "extract",
    "extract_many",
    "load",
    "split_chunk",
]
