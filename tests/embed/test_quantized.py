"""The built-in model's int8 form: made once per cache, close to the float32 path, and never in the way: a damaged
cache file, an unwritable cache folder or a missing `onnx` package all leave a working embedder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.embed import minilm, quantized

TEXTS = [
    "What does the embed endpoint return?",
    "The embed endpoint returns one vector per input, normalised to unit length.",
    "Water tomatoes in the morning, before the sun is high.",
    "默认的嵌入模型是 all-minilm。",
]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source, _ = minilm.model_files()
    path = quantized.int8_model(source, minilm.MODEL_SHA256)
    assert path is not None and path.is_file()
    return path


def test_the_int8_model_is_cached_by_source_digest_and_reused(made: Path) -> None:
    source, _ = minilm.model_files()
    assert made.name.startswith(f"minilm-int8-{minilm.MODEL_SHA256[:16]}-") and made.parent == quantized.cache_dir()
    stamp = made.stat().st_mtime_ns
    assert quantized.int8_model(source, minilm.MODEL_SHA256) == made
    assert made.stat().st_mtime_ns == stamp  # not made again


def test_int8_vectors_stay_close_to_the_float_path_and_rank_alike(made: Path) -> None:
    source, tokenizer = minilm.model_files()
    fast = minilm.MiniLM(made, tokenizer, threads=1).embed(TEXTS)
    slow = minilm.MiniLM(source, tokenizer, threads=1).embed(TEXTS)
    cosines = [float(a @ b) for a, b in zip(fast, slow, strict=True) if a is not None and b is not None]
    assert len(cosines) == len(TEXTS) and min(cosines) > 0.98
    for vectors in (fast, slow):
        query, relevant, irrelevant = vectors[0], vectors[1], vectors[2]
        assert query is not None and relevant is not None and irrelevant is not None
        assert float(query @ relevant) > float(query @ irrelevant) + 0.2
    assert minilm.load().path == made  # what the process embeds with


def test_a_damaged_cache_file_falls_back_and_is_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE", str(tmp_path / "cache"))
    source, tokenizer = minilm.model_files()
    target = tmp_path / "cache" / quantized.cached_name(minilm.MODEL_SHA256)
    target.parent.mkdir()
    target.write_bytes(b"not an onnx model")
    model = minilm._open(source, tokenizer, int8=True)
    assert model.path == source and not target.exists()  # the float32 path now, the bad file gone
    (vector,) = model.embed(TEXTS[:1])
    assert vector is not None and vector.shape == (minilm.DIMENSION,)


def test_a_cache_that_cannot_be_written_uses_a_private_copy_removed_at_exit(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be", encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    code = (
        "from rag.embed import minilm, quantized\n"
        "source, _ = minilm.model_files()\n"
        "path = quantized.int8_model(source, minilm.MODEL_SHA256)\n"
        "assert path is not None and path.is_file(), path\n"
        "print(path)\n"
    )
    env = os.environ | {"RAG_CACHE": str(blocker / "cache"), "TMPDIR": str(tmp_path / "tmp")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    private = Path(out.stdout.strip())
    assert tmp_path / "tmp" in private.parents and blocker not in private.parents
    assert not private.exists() and not list((tmp_path / "tmp").glob("rag-minilm-*"))  # nothing left behind


def test_the_float32_form_is_there_when_asked_for(made: Path) -> None:
    source, _ = minilm.model_files()
    assert minilm.load(int8=False).path == source and minilm.load(int8=True).path == made
    assert minilm.load(int8=False) is minilm.load(int8=False)  # one per form per process


def test_without_onnx_the_shipped_file_runs_as_it_is(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # `import onnx` now raises ImportError, as when it is absent
        "from rag.embed import minilm\n"
        "m = minilm.load(); source, _ = minilm.model_files()\n"
        "assert m.path == source, m.path\n"
        "v = m.embed(['hello'])[0]; assert v is not None and v.shape == (384,)\n"
        "print('ok')\n"
    )
    env = os.environ | {"RAG_CACHE": str(tmp_path / "empty")}  # nothing cached: the int8 form would need onnx
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_a_cached_int8_model_loads_without_importing_onnx() -> None:
    code = (
        "import sys\n"
        "from rag.embed import minilm, quantized\n"
        "m = minilm.load()\n"
        "assert quantized.is_int8(m.path), m.path\n"
        "print('onnx' in sys.modules)\n"
    )
    minilm.load()  # made (or found) in this run's cache, which the child shares through RAG_CACHE
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr[-2000:]  # a second of start-up saved


def test_the_embedder_opens_the_form_asked_for(made: Path) -> None:
    from rag.embed import open_embedder

    source, _ = minilm.model_files()
    with open_embedder("all-minilm", "builtin", int8=False) as slow, open_embedder("all-minilm", "builtin") as fast:
        assert slow._minilm.path == source and fast._minilm.path == made  # type: ignore[attr-defined]
        assert float(slow.embed_query(TEXTS[0]) @ fast.embed_query(TEXTS[0])) > 0.98
