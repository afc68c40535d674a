"""Sentence vectors: int8 bytes in the catalog, and "DIM:BASE64" text in Chroma metadata on a server.

A chunk of several sentences stores one vector per sentence (`ingest.sentences.sentence_texts`) beside its chunk
vector, so retrieval can score a candidate by its best sentence too (`rag.retrieve.fusion.with_best_sentences`).
Each component is scaled by 127 and rounded to int8 (unit vectors: a cosine moves by under 0.01): 384 bytes a
sentence for all-minilm. The catalog holds them (table `sentences`); on a Chroma server each chunk's metadata also
carries them under `FIELD`, since a reader with nothing but the server builds its catalog from there.
"""

from __future__ import annotations

import base64
import binascii

import numpy as np

FIELD = "sentence_vectors"
_SCALE = 127.0


def quantize(vectors: np.ndarray) -> bytes:
    """The int8 bytes of an (n, dim) array of unit vectors, row after row."""
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    return np.clip(np.rint(matrix * _SCALE), -127, 127).astype(np.int8).tobytes()


def unpack(blob: bytes | None, dim: int) -> np.ndarray | None:
    """The (n, dim) float32 vectors of `quantize`'s bytes; None when missing or not whole rows of `dim`."""
    if not blob or dim <= 0 or len(blob) % dim:
        return None
    return np.frombuffer(blob, dtype=np.int8).reshape(-1, dim).astype(np.float32) / _SCALE


def to_metadata(blob: bytes, dim: int) -> str:
    """The Chroma metadata value of `quantize`'s bytes (Chroma metadata holds strings, not bytes)."""
    return f"{dim}:{base64.b64encode(blob).decode('ascii')}"


def from_metadata(value: object) -> bytes | None:
    """The bytes a metadata value holds; None for a missing or malformed value (the chunk is then scored by its
    chunk vector alone)."""
    if not isinstance(value, str) or ":" not in value:
        return None
    head, _, body = value.partition(":")
    try:
        dim = int(head)
        blob = base64.b64decode(body, validate=True)
    except (ValueError, binascii.Error):
        return None
    return blob if unpack(blob, dim) is not None else None


__all__ = ["FIELD", "from_metadata", "quantize", "to_metadata", "unpack"]
