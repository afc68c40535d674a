"""ingest: files -> chunks with locations. Pure: no network, no vector store, no `rag` import."""
from ingest.errors import IngestError

__all__ = ["IngestError"]
