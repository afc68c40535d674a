"""Embedders over real sockets: the fake Ollama (tests/ollama_server.py) and the built-in all-minilm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rag.embed import (
    BuiltinEmbedder,
    OllamaEmbedder,
    is_builtin,
    minilm,
    model_name,
    open_embedder,
    prefix_scheme_for,
)
from rag.errors import EmbedderError, ModelNotFound, OllamaError, OllamaUnreachable
from rag.ollama import Client
from support.ollama_server import count_tokens, embed_text

REPRESENT = "Represent this sentence for searching relevant passages: "


def _expected(text: str, dim: int = 384) -> np.ndarray:
    """What the fake server returns for `text`, as a unit float32 vector."""
    vector = np.asarray(embed_text(text, dim), dtype=np.float32)
    return vector / np.linalg.norm(vector)


# ---- names and prefixes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, document, query",
    [
        ("nomic-embed-text", "search_document: ", "search_query: "),
        ("nomic-embed-text:v1.5", "search_document: ", "search_query: "),
        ("mxbai-embed-large:latest", "", REPRESENT),
        ("snowflake-arctic-embed:335m", "", REPRESENT),
        ("snowflake-arctic-embed2", "", "query: "),
        ("bge-m3", "", ""),
        ("all-minilm", "", ""),
        ("some-new-model", "", ""),
    ],
)
def test_prefix_table(model: str, document: str, query: str) -> None:
    scheme = prefix_scheme_for(model)
    assert (scheme.document, scheme.query) == (document, query)


def test_builtin_names_are_the_l6_tags_of_all_minilm() -> None:
    assert all(is_builtin(m) for m in ("all-minilm", "All-MiniLM:latest", "all-minilm:22m", "all-minilm:l6-v2"))
    assert not any(is_builtin(m) for m in ("all-minilm:33m", "all-minilm:l12-v2", "nomic-embed-text", "minilm"))
    assert {model_name(m) for m in ("all-minilm", "all-minilm:latest", "all-minilm:22m", "all-minilm:l6-v2")} == {
        "all-minilm"
    }
    assert model_name("nomic-embed-text:latest") == "nomic-embed-text"
    assert model_name("all-minilm:33m") == "all-minilm:33m"


# ---- built-in backend ----------------------------------------------------------------------------------------------


def test_builtin_embedder_info_and_vectors() -> None:
    embedder = BuiltinEmbedder("all-minilm:l6-v2")
    info = embedder.info()
    assert info.to_dict() == {
        "model": "all-minilm",
        "backend": "builtin",
        "dimension": 384,
        "digest": minilm.MODEL_SHA256[:12],
        "prefix_scheme": None,
    }
    assert embedder.max_tokens == minilm.MAX_TOKENS
    docs = embedder.embed_documents(["Chroma keeps vectors on disk.", "cat " * 300])
    assert docs[0] is not None and docs[1] is None  # over 256 tokens: None, for the indexer to split
    query = embedder.embed_query("cat " * 300)  # queries are cut to fit instead
    assert query.dtype == np.float32 and abs(float(np.linalg.norm(query)) - 1) < 1e-5
    assert embedder.count_tokens("cat " * 300) == 302


def test_builtin_refuses_other_models_and_names_what_is_built_in() -> None:
    for model in ("nomic-embed-text", "all-minilm:33m"):
        with pytest.raises(EmbedderError) as info:
            open_embedder(model, backend="builtin")
        assert "all-minilm" in str(info.value) and f"ollama pull {model}" in str(info.value)


def test_embed_documents_wants_a_list() -> None:
    with pytest.raises(TypeError):
        BuiltinEmbedder().embed_documents("one string")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        open_embedder("all-minilm", backend="gpu")


# ---- auto ----------------------------------------------------------------------------------------------------------


def test_auto_uses_the_builtin_when_ollama_is_down() -> None:
    with open_embedder("all-minilm") as embedder:  # OLLAMA_HOST points at a closed port in tests
        assert isinstance(embedder, BuiltinEmbedder) and embedder.info().model == "all-minilm"


def test_auto_with_ollama_down_and_a_model_not_built_in_says_start_ollama() -> None:
    with pytest.raises(OllamaUnreachable) as info:
        open_embedder("nomic-embed-text")
    assert "ollama serve" in str(info.value) and "all-minilm" in str(info.value)


def test_auto_uses_ollama_when_the_server_is_up(ollama) -> None:
    with open_embedder("all-minilm") as embedder:
        assert isinstance(embedder, OllamaEmbedder)
        tag = next(m for m in Client(ollama.url).tags() if m.name == "all-minilm:latest")
        info = embedder.info()
        assert (info.model, info.backend, info.dimension, info.digest) == ("all-minilm", "ollama", 384, tag.digest)
        (vector,) = embedder.embed_documents(["hello there"])
    assert vector is not None and np.allclose(vector, _expected("hello there"), atol=1e-6)
    assert ollama.count("/api/embed") == 1


def test_auto_falls_back_to_builtin_when_ollama_lacks_all_minilm(ollama) -> None:
    ollama.missing_models = {"all-minilm"}
    with open_embedder("all-minilm") as embedder:
        assert isinstance(embedder, BuiltinEmbedder)


def test_a_missing_model_that_is_not_built_in_says_pull(ollama) -> None:
    ollama.missing_models = {"nomic-embed-text"}
    for backend in ("auto", "ollama"):
        with pytest.raises(ModelNotFound) as info:
            open_embedder("nomic-embed-text", backend=backend)
        assert "ollama pull nomic-embed-text" in str(info.value)


def test_backend_ollama_never_falls_back(ollama) -> None:
    ollama.missing_models = {"all-minilm"}
    with pytest.raises(ModelNotFound):
        open_embedder("all-minilm", backend="ollama")
    ollama.stop()
    with Client(ollama.url, retries=0) as client, pytest.raises(OllamaUnreachable) as info:
        open_embedder("all-minilm", backend="ollama", client=client)
    assert "ollama serve" in str(info.value)


# ---- Ollama backend ------------------------------------------------------------------------------------------------


def test_batches_of_batch_size_in_order_with_truncate_off(ollama) -> None:
    texts = [f"text number {i} about topic {i % 7}" for i in range(70)]
    with Client(ollama.url) as client:
        embedder = OllamaEmbedder(client, "all-minilm", batch_size=32, in_flight=2)
        vectors = embedder.embed_documents(texts)
    bodies = ollama.bodies("/api/embed")
    assert len(bodies) == math.ceil(70 / 32)
    assert sorted(len(b["input"]) for b in bodies) == [6, 32, 32]
    assert all(b["truncate"] is False and b["options"]["num_ctx"] >= 512 for b in bodies)
    for text, vector in zip(texts, vectors, strict=False):
        assert vector is not None and vector.dtype == np.float32 and np.allclose(vector, _expected(text), atol=1e-6)


@pytest.mark.parametrize("in_flight", [1, 2])
def test_requests_in_flight_are_bounded(ollama, in_flight: int) -> None:
    ollama.latency = 0.05
    with Client(ollama.url) as client:
        OllamaEmbedder(client, "all-minilm", batch_size=2, in_flight=in_flight).embed_documents(
            [f"t{i}" for i in range(12)]
        )
    embeds = [r for r in ollama.requests if r.path == "/api/embed"]
    assert len(embeds) == 6
    # each concurrent request needs its own keep-alive connection: distinct client ports bound the concurrency
    assert len({r.client_port for r in embeds}) == in_flight


def test_context_errors_are_bisected_to_exactly_the_long_texts(ollama) -> None:
    ollama.embed_context_length = 40
    texts = [f"short text {i}" for i in range(11)]
    texts[3] = "word " * 60
    texts[8] = "词" * 80
    with Client(ollama.url) as client:
        vectors = OllamaEmbedder(client, "all-minilm", batch_size=16).embed_documents(texts)
    assert [i for i, v in enumerate(vectors) if v is None] == [3, 8]
    for i in (0, 1, 2, 4, 5, 6, 7, 9, 10):
        assert np.allclose(vectors[i], _expected(texts[i]), atol=1e-6)  # type: ignore[arg-type]
    assert ollama.count("/api/embed") > 2  # the refused batch was split and retried
    assert all(b["truncate"] is False for b in ollama.bodies("/api/embed"))


def test_num_ctx_fits_the_longest_input_and_never_shrinks(ollama) -> None:
    long_text = "alpha " * 700
    with Client(ollama.url) as client:
        embedder = OllamaEmbedder(client, "nomic-embed-text")
        embedder.embed_documents(["tiny"])
        embedder.embed_documents([long_text, "tiny"])
        embedder.embed_documents(["tiny again"])
    sizes = [b["options"]["num_ctx"] for b in ollama.bodies("/api/embed")]
    assert sizes[0] == 512
    assert sizes[1] >= count_tokens("search_document: " + long_text) and sizes[1] <= 2048  # capped at context_length
    assert sizes[2] == sizes[1]
    assert embedder.max_tokens == 2048


def test_nomic_prefixes_are_sent_and_recorded(ollama) -> None:
    with open_embedder("nomic-embed-text", backend="ollama") as embedder:
        assert embedder.info().prefix_scheme == "nomic" and embedder.info().dimension == 768
        (doc,) = embedder.embed_documents(["llamas are camelids"])
        query = embedder.embed_query("what are llamas?")
    inputs = [b["input"] for b in ollama.bodies("/api/embed")]
    assert inputs == [["search_document: llamas are camelids"], ["search_query: what are llamas?"]]
    assert np.allclose(doc, _expected("search_document: llamas are camelids", 768), atol=1e-6)  # type: ignore[arg-type]
    assert np.allclose(query, _expected("search_query: what are llamas?", 768), atol=1e-6)


def test_model_removed_after_open_surfaces_model_not_found(ollama) -> None:
    with open_embedder("all-minilm", backend="ollama") as embedder:
        ollama.missing_models = {"all-minilm"}
        with pytest.raises(ModelNotFound) as info:
            embedder.embed_documents(["anything"])
    assert "ollama pull all-minilm" in str(info.value)


def test_a_failure_in_one_batch_stops_the_run(ollama) -> None:
    ollama.fail_next(10, status=400, paths=["/api/embed"])
    with Client(ollama.url, retries=0) as client:
        embedder = OllamaEmbedder(client, "all-minilm", batch_size=1, in_flight=2)
        with pytest.raises(OllamaError) as info:
            embedder.embed_documents([f"t{i}" for i in range(8)])
    assert "injected failure 400" in str(info.value)
    assert ollama.count("/api/embed") < 8  # batches not yet started were cancelled
