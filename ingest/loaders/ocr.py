"""OCR of page images with RapidOCR (the [ocr] extra: PP-OCR Chinese + English ONNX models inside the wheel)."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

MIN_SCORE = 0.5
"""Recognised lines below this confidence are dropped (noise on illustrations)."""
MAX_SIDE_PX = 1024
"""Images are OCR'd at most this many pixels a side (larger ones are scaled down first). RapidOCR detects text at
the image's own size (with limit type "max" it ignores `det_limit_side_len` and only caps at 2000 px), and the
detector's memory grows with the pixels: see BENCHMARKS.md, "Ingest", Peak RSS."""


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Is the [ocr] extra installed? (Cheap: finds the package without importing it.)"""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


@functools.lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

    # limit type "max": never scale small images up (the default "min" scales them to 736 px a side); the size cap
    # is ours (MAX_SIDE_PX), applied before the call
    return RapidOCR(det_limit_type="max")


def image_text(image: Any) -> str:
    """The text of an image (PIL image, numpy array or path), lines top to bottom; "" when none is found."""
    import numpy as np
    from PIL import Image

    if not hasattr(image, "convert"):
        image = Image.open(image) if isinstance(image, str) else Image.fromarray(np.asarray(image))
    image = image.convert("RGB")
    if max(image.size) > MAX_SIDE_PX:
        ratio = MAX_SIDE_PX / max(image.size)
        size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    result, _ = _engine()(np.asarray(image))
    if not result:
        return ""
    return "\n".join(str(text) for _box, text, score in result if float(score) >= MIN_SCORE)
