"""Plain text files: decode bytes (UTF-8, UTF-16 with or without BOM, detected legacy encodings) and normalise
newlines. UTF-8 with a few stray invalid bytes is decoded with replacement characters and a warning."""

from __future__ import annotations

import codecs
import re
import unicodedata

from ingest.discover import utf16_without_bom
from ingest.errors import IngestError

BINARY_REASON = "binary file"
MAX_STRAY_FRACTION = 0.01
"""UTF-8 text with at most this fraction of invalid bytes (or at most `MAX_STRAY_BYTES`) is read with U+FFFD."""
MAX_STRAY_BYTES = 8
_NEWLINES = re.compile(r"\r\n?")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SAMPLE = 8192
_STRAY = re.compile("[\udc80-\udcff]")


def decode_bytes(data: bytes, source: str) -> str:
    """Text of a file's bytes with "\\n" newlines. Raises IngestError("binary file") when it is not text."""
    return decode_text(data, source)[0]


def decode_text(data: bytes, source: str) -> tuple[str, tuple[str, ...]]:
    """(text with "\\n" newlines, warnings) of a file's bytes. Raises IngestError("binary file") when it is not text."""
    text, warnings = _decode(data, source)
    if "\x00" in text:
        raise IngestError(source, BINARY_REASON)
    return _NEWLINES.sub("\n", text), warnings


def _decode(data: bytes, source: str) -> tuple[str, tuple[str, ...]]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), ()
            except UnicodeDecodeError:
                raise IngestError(source, f"{BINARY_REASON} (invalid {encoding} after its byte-order mark)") from None
    if b"\x00" in data[:_SAMPLE]:
        utf16 = utf16_without_bom(data[:_SAMPLE])
        if utf16 is None:
            raise IngestError(source, BINARY_REASON)
        text = data[: len(data) // 2 * 2].decode(utf16, errors="replace")
        if not _looks_like_text(text):
            raise IngestError(source, BINARY_REASON)
        return text, (f"read as {utf16.upper()} without a byte-order mark",)
    try:
        return data.decode("utf-8"), ()
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    strays = _invalid_bytes(data)
    few = strays <= max(MAX_STRAY_BYTES, MAX_STRAY_FRACTION * len(data))
    if few and _has_utf8_multibyte(text):  # real UTF-8 around the strays: a legacy guess would garble it all
        return text, (_stray_warning(strays),)
    import charset_normalizer  # only legacy-encoded files pay for the import

    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        return str(best), ()
    if few and _looks_like_text(text):
        return text, (_stray_warning(strays),)
    raise IngestError(source, BINARY_REASON)


def _stray_warning(count: int) -> str:
    return f"{count} invalid UTF-8 byte{'s' if count != 1 else ''} replaced with U+FFFD"


def _invalid_bytes(data: bytes) -> int:
    """Bytes that are not part of a valid UTF-8 sequence (each becomes one surrogate escape)."""
    return len(_STRAY.findall(data.decode("utf-8", errors="surrogateescape")))


def _has_utf8_multibyte(text: str) -> bool:
    return any(ord(c) > 0x7F and c != "\ufffd" for c in text)


def _looks_like_text(text: str) -> bool:
    """Few control or replacement characters in a sample (newlines and tabs are text)."""
    sample = text[:_SAMPLE]
    if not sample.strip():
        return False
    bad = sum(1 for c in sample if c == "\ufffd" or (unicodedata.category(c) == "Cc" and c not in "\n\r\t\f"))
    return bad <= 0.02 * len(sample)
