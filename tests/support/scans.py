"""Scanned documents the OCR tests generate: text rendered to an image, wrapped in an image-only PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

SCAN_LINES = ("The river runs north", "Ferries cross twice daily")


def scan_image(lines: Sequence[str] = SCAN_LINES) -> Any:
    """A white page image with `lines` in black, large enough for OCR to read."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1200, 160 + 120 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=56)
    for i, line in enumerate(lines):
        draw.text((60, 80 + i * 120), line, fill=0, font=font)
    return image


def scan_pdf(pages: Sequence[Sequence[str]] = (SCAN_LINES,)) -> bytes:
    """An image-only PDF (no text layer), one scanned page per entry of `pages`."""
    images = [scan_image(lines) for lines in pages]
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def text_then_scan_pdf(text: str, scan_lines: Sequence[str] = SCAN_LINES) -> bytes:
    """Page 1 with a real text layer (one Helvetica line), page 2 a scan of `scan_lines`."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 11 Tf 72 740 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    for scanned in PdfReader(io.BytesIO(scan_pdf([scan_lines]))).pages:
        writer.add_page(scanned)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
