""".png/.jpg/.tiff: text by OCR (the [ocr] extra); one page per image frame."""

from __future__ import annotations

import io

from ingest.document import Document
from ingest.errors import IngestError
from ingest.loaders import ocr
from ingest.loaders._builder import TextBuilder
from ingest.loaders.pdf import OnPage

NO_OCR_REASON = "image: no text layer: install ollama-rag[ocr]"
MAX_FRAMES = 200


def load_image(data: bytes, source: str, sha256: str, on_page: OnPage | None = None) -> Document:
    """OCR'd text of an image (each TIFF frame a page). Raises IngestError without the extra or without text.
    `on_page` hears ("ocr", frame, frames) after each frame."""
    if not ocr.available():
        raise IngestError(source, NO_OCR_REASON)
    from PIL import Image, ImageSequence

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise IngestError(source, f"malformed image: {exc}") from exc
    out = TextBuilder()
    frames = min(int(getattr(image, "n_frames", 1) or 1), MAX_FRAMES)
    for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
        if number > MAX_FRAMES:
            break
        out.start_page(number, ocr=True)
        out.paragraph(ocr.image_text(frame.copy()))
        if on_page is not None:
            total = max(frames, number)
            on_page("ocr", number, total, total)
    doc = out.document(source, "image", sha256, warnings=("OCR",))
    if not doc.text:
        raise IngestError(source, "no text found by OCR")
    return doc
