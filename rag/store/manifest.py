"""The per-collection manifest: which embedding model, dimension, prefix scheme and chunker built the index.

Indexing or querying with anything incompatible raises `ManifestMismatch` naming both sides and the fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from rag._result import Result
from rag.errors import ManifestMismatch

FORMAT_VERSION = 1

MISMATCH_MESSAGE = (
    "Collection {collection!r} was indexed with {stored}; this run uses {wanted}. "
    "Re-index everything with `rag index PATH --rebuild`, or {keep} to use the index as it is."
)
KEEP_MODEL = "pass `--embed-model {model}`"
KEEP_CHUNKER = "use chunk_tokens={tokens} and chunk_overlap={overlap}"
DIGEST_WARNING = (
    "embedding model {model} changed since the index was built (digest {old} -> {new}); "
    "new vectors may not match old ones: consider `rag index PATH --rebuild`"
)


def now_iso() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Manifest(Result):
    """What built a collection's vectors and chunks."""

    embed_model: str
    """Normalised model name (`normalize_model`)."""
    dimension: int | None
    """Vector length; None until the first vector is known."""
    prefix_scheme: str | None
    """Task-prefix scheme the embedder applied (e.g. "nomic"), None for none."""
    chunk_tokens: int
    chunk_overlap: int
    chunker_version: str
    embed_backend: str = ""
    """"ollama" or "builtin" (informational: both serve the same weights)."""
    embed_digest: str | None = None
    format_version: int = FORMAT_VERSION
    created_at: str = ""
    updated_at: str = ""
    roots: tuple[str, ...] = ()
    """Absolute folders indexed into this collection."""

    def describe(self) -> str:
        """One phrase naming model, dimension, prefix scheme and chunker."""
        dims = f"{self.dimension} dims" if self.dimension else "dimension unknown"
        return (
            f"embedding model {self.embed_model} ({dims}, prefix scheme {self.prefix_scheme or 'none'}, "
            f"chunks of {self.chunk_tokens} tokens overlapping {self.chunk_overlap}, chunker {self.chunker_version})"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        known["roots"] = tuple(known.get("roots") or ())
        return cls(**known)


def check_compatible(stored: Manifest, wanted: Manifest, *, collection: str, query: bool = False) -> list[str]:
    """Raise `ManifestMismatch` when `wanted` cannot share the collection built with `stored`; return warnings.

    For queries (`query=True`) the chunker does not matter, only model, dimension and prefix scheme.
    """
    keys = ["embed_model", "prefix_scheme"]
    if stored.dimension and wanted.dimension:
        keys.append("dimension")
    if not query:
        keys += ["chunk_tokens", "chunk_overlap", "chunker_version", "format_version"]
    differ = [k for k in keys if getattr(stored, k) != getattr(wanted, k)]
    if differ:
        model_differs = {"embed_model", "prefix_scheme", "dimension"} & set(differ)
        keep = (
            KEEP_MODEL.format(model=stored.embed_model)
            if model_differs
            else KEEP_CHUNKER.format(tokens=stored.chunk_tokens, overlap=stored.chunk_overlap)
        )
        raise ManifestMismatch(
            MISMATCH_MESSAGE.format(
                collection=collection, stored=stored.describe(), wanted=wanted.describe(), keep=keep
            )
        )
    same_backend = stored.embed_backend == wanted.embed_backend
    if same_backend and stored.embed_digest and wanted.embed_digest and stored.embed_digest != wanted.embed_digest:
        return [
            DIGEST_WARNING.format(model=stored.embed_model, old=stored.embed_digest[:12], new=wanted.embed_digest[:12])
        ]
    return []
