"""Plain text files: decode bytes (UTF-8, UTF-16 with BOM, detected legacy encodings) and normalise newlines."""
from __future__ import annotations

import codecs
import re

from ingest.errors import IngestError

BINARY_REASON = "binary file"
_NEWLINES = re.compile(r"\r\n?")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode_bytes(data: bytes, source: str) -> str:
    """Text of a file's bytes with "\\n" newlines. Raises IngestError("binary file") when it is not text."""
    text = _decode(data, source)
    if "\x00" in text:
        raise IngestError(source, BINARY_REASON)
    return _NEWLINES.sub("\n", text)


def _decode(data: bytes, source: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                raise IngestError(source, f"{BINARY_REASON} (invalid {encoding} after its byte-order mark)") from None
    if b"\x00" in data[:8192]:
        raise IngestError(source, BINARY_REASON)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    import charset_normalizer  # only legacy-encoded files pay for the import

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise IngestError(source, BINARY_REASON)
    return str(best)
