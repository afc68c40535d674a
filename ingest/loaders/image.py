""".png/.jpg/.tiff: text by OCR (the [ocr] extra); one page per image frame."""

from __future__ import annotations

import io

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders import ocr
from ingest.loaders._builder import TextBuilder

NO_OCR_REASON = "image: no text layer: install ollama-rag[ocr]"
MAX_FRAMES = 200


def load_image(data: bytes, source: str, sha256: str) -> Document:
    """OCR'd text of an image (each TIFF frame a page). Raises IngestError without the extra or without text."""
    if not ocr.available():
        raise IngestError(source, NO_OCR_REASON)
    from PIL import Image, ImageSequence

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise IngestError(source, f"malformed image: {exc}") from exc
    out = TextBuilder()
    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if number > MAX_FRAMES:
            break
        out.start_page(number)
        out.paragraph(ocr.image_text(frame.copy()))
    doc = out.document(source, "image", sha256, warnings=("OCR",))
    if not doc.text:
        raise IngestError(source, "no text found by OCR")
    return doc
