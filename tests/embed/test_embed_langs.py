"""rag.embed.langs: which embedding models are multilingual (the dense weight for CJK queries depends on it)."""

from __future__ import annotations

import pytest

from rag.embed.langs import is_multilingual


@pytest.mark.parametrize(
    "model",
    [
        "bge-m3",
        "bge-m3:567m",
        "jeffh/intfloat-multilingual-e5-large:f16",
        "nomic-embed-text-v2-moe",
        "paraphrase-multilingual:278m-mpnet-base-v2-fp16",
    ],
)
def test_known_multilingual_models(model: str) -> None:
    assert is_multilingual(model)


@pytest.mark.parametrize("model", ["all-minilm", "all-minilm:l6-v2", "nomic-embed-text", "mxbai-embed-large"])
def test_english_models(model: str) -> None:
    assert not is_multilingual(model)
