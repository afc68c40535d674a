"""OCR of page images with RapidOCR (the [ocr] extra: PP-OCR Chinese + English ONNX models inside the wheel)."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

MIN_SCORE = 0.5
"""Recognised lines below this confidence are dropped (noise on illustrations)."""


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Is the [ocr] extra installed? (Cheap: finds the package without importing it.)"""
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


@functools.lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR  # type: ignore[import-untyped]

    # detection on at most 1280 px a side (the default only scales small images up): less memory on page renders
    return RapidOCR(det_limit_type="max", det_limit_side_len=1280)


def image_text(image: Any) -> str:
    """The text of an image (PIL image, numpy array or path), lines top to bottom; "" when none is found."""
    import numpy as np

    if hasattr(image, "convert"):  # PIL
        image = np.asarray(image.convert("RGB"))
    result, _ = _engine()(image)
    if not result:
        return ""
    return "\n".join(str(text) for _box, text, score in result if float(score) >= MIN_SCORE)
