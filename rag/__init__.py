"""ollama-rag: cited, verifiable answers over your own documents (Ollama + Chroma).

    from rag import RAG
    rag = RAG()                       # default index folder; see rag.config
    rag.index("sample_docs")
    print(rag.ask("What does /api/embed return?").answer)

Names are loaded on first use, so `import rag` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from rag._version import __version__ as __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "RAG": "rag.api",
    "CollectionStatus": "rag.index.report",
    "FileOutcome": "rag.index.report",
    "IndexProgress": "rag.index.report",
    "IndexReport": "rag.index.report",
    "RemoveReport": "rag.index.report",
    "Status": "rag.index.report",
    "Settings": "rag.config",
    "EvalReport": "rag.eval.runner",
    "Answer": "rag.answer.types",
    "Citation": "rag.answer.types",
    "Claim": "rag.answer.types",
    "Timings": "rag.answer.types",
    "Hit": "rag.retrieve.hybrid",
    "ChatSession": "rag.answer.chat",
    "Embedder": "rag.embed",
    "EmbedderInfo": "rag.embed",
    "open_embedder": "rag.embed",
    "Check": "rag.doctor",
    "DoctorReport": "rag.doctor",
    "ConfigError": "rag.errors",
    "ContextLengthExceeded": "rag.errors",
    "EmbedderError": "rag.errors",
    "IndexLocked": "rag.errors",
    "IngestError": "rag.errors",
    "ManifestMismatch": "rag.errors",
    "ModelNotFound": "rag.errors",
    "ModelOutputError": "rag.errors",
    "OllamaBusy": "rag.errors",
    "OllamaError": "rag.errors",
    "OllamaTimeout": "rag.errors",
    "OllamaUnreachable": "rag.errors",
    "RagError": "rag.errors",
    "StoreError": "rag.errors",
}

__all__ = [
    "Answer",
    "ChatSession",
    "Check",
    "Citation",
    "Claim",
    "CollectionStatus",
    "ConfigError",
    "ContextLengthExceeded",
    "DoctorReport",
    "Embedder",
    "EmbedderError",
    "EmbedderInfo",
    "EvalReport",
    "FileOutcome",
    "Hit",
    "IndexLocked",
    "IndexProgress",
    "IndexReport",
    "IngestError",
    "ManifestMismatch",
    "ModelNotFound",
    "ModelOutputError",
    "OllamaBusy",
    "OllamaError",
    "OllamaTimeout",
    "OllamaUnreachable",
    "RAG",
    "RagError",
    "RemoveReport",
    "Settings",
    "Status",
    "StoreError",
    "Timings",
    "__version__",
    "open_embedder",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
