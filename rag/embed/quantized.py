"""The built-in model in int8 arithmetic: made once from the pinned all-MiniLM-L6-v2 file and cached.

The pinned file stores int8 weights that onnxruntime widens to float32 at load, so every matrix product runs in
float32. Here the same weights are quantised per output channel and each activation on the fly
(`onnxruntime.quantization.quantize_dynamic`), so the products run as int8 (VNNI on x86): about half the CPU time
per chunk, with vectors at cosine 0.995 of the float path (retrieval figures: BENCHMARKS.md, "Built-in embedder").

The conversion needs the `onnx` package and takes a few seconds; its result is cached under `rag.config.cache_dir()`,
named after the source file's sha256 and the onnxruntime and onnx versions, written to a temporary name and renamed
(two processes converting at once both succeed). Without a writable cache the model is built in a temporary
folder for this process. Any failure returns None: the caller keeps the float32 path.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

from rag.config import cache_dir

log = logging.getLogger(__name__)

_PREFIX = "minilm-int8-"
VERSION = "1"
"""Bumped when the conversion below changes, so cached models are made again."""


def cached_name(source_sha256: str) -> str:
    """The cache file name for a source model: its digest and the versions that shape the output."""
    from importlib.metadata import version  # not `import onnx`: a second of start-up, needed only to convert

    return f"{_PREFIX}{source_sha256[:16]}-ort{version('onnxruntime')}-onnx{version('onnx')}-v{VERSION}.onnx"


def is_int8(path: Path) -> bool:
    """Whether `path` is a model made here (by its name)."""
    return Path(path).name.startswith(_PREFIX)


def convert(source: Path, target: Path) -> None:
    """Write the int8 form of the ONNX model `source` to `target` (atomically). Raises on any failure."""
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".minilm-") as work:
        folded = Path(work) / "folded.onnx"
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)  # weights widened to float32 once, constants folded
        options.log_severity_level = 3
        onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        partial = Path(work) / "int8.onnx"
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # the quantizer advises "pre-processing" on the root logger: not for users
        try:
            quantize_dynamic(folded, partial, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.disable(previous)
        os.replace(partial, target)


def int8_model(source: Path, source_sha256: str) -> Path | None:
    """The cached int8 model for `source`, converted on first use; None when it cannot be had (no `onnx`, a failed
    conversion), with the reason logged."""
    try:
        name = cached_name(source_sha256)
    except ImportError as exc:  # importlib.metadata.PackageNotFoundError is one
        log.info("built-in embedder: float32 path (%s; `pip install onnx` for the int8 one)", exc)
        return None
    for folder in (cache_dir(), None):
        try:
            if folder is None:  # no writable cache: this process's own copy, removed when it exits
                folder = Path(tempfile.mkdtemp(prefix="rag-minilm-"))
                atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = folder / name
            if not path.is_file():
                convert(source, path)
            return path
        except Exception as exc:  # onnx/onnxruntime raise many types; the float32 path still works
            log.info("built-in embedder: cannot use the int8 model in %s: %s", folder, exc)
    return None


__all__ = ["VERSION", "cached_name", "convert", "int8_model", "is_int8"]
