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
BAND_PX = 320
"""Taller images are read in horizontal bands of this height (plus `BAND_OVERLAP_PX`), so detection holds one band's
feature maps at a time, not the whole page's."""
BAND_OVERLAP_PX = 96
"""Rows two neighbouring bands share: a text line cut by one band's edge is whole in the other (lines are kept by the
band holding their centre)."""


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
    pixels = np.asarray(image)
    lines: list[str] = []  # RapidOCR's reading order within each band, bands top to bottom
    for top, keep_from, keep_to in bands(pixels.shape[0]):
        result, _ = _engine()(pixels[top : top + BAND_PX + BAND_OVERLAP_PX])
        for box, text, score in result or []:
            ys = [float(point[1]) for point in box]
            centre = top + (min(ys) + max(ys)) / 2
            if float(score) >= MIN_SCORE and keep_from <= centre < keep_to:
                lines.append(str(text))
    return "\n".join(lines)


def bands(height: int) -> list[tuple[int, int, int]]:
    """(top row, first kept centre row, end of kept centre rows) of each band of an image `height` rows tall.

    >>> bands(400)
    [(0, 0, 400)]
    >>> bands(1024)
    [(0, 0, 368), (320, 368, 688), (640, 688, 1024)]
    """
    if height <= BAND_PX + BAND_OVERLAP_PX:
        return [(0, 0, height)]
    tops = list(range(0, height - BAND_OVERLAP_PX, BAND_PX))
    out = []
    for i, top in enumerate(tops):
        keep_from = 0 if i == 0 else top + BAND_OVERLAP_PX // 2
        keep_to = height if i == len(tops) - 1 else tops[i + 1] + BAND_OVERLAP_PX // 2
        out.append((top, keep_from, keep_to))
    return out
