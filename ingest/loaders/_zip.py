"""Refuse hostile ZIP containers (OOXML, EPUB, ODF) before a library inflates them."""

from __future__ import annotations

import io
import zipfile

from ingest.errors import IngestError

MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
"""Total inflated size of all members."""
MAX_RATIO = 100
"""Largest inflated/compressed ratio of one member (XML compresses 5-20x; bombs 1000x and more)."""
RATIO_FLOOR_BYTES = 1024 * 1024
"""Members that inflate to less than this are not ratio-checked (tiny files compress oddly)."""
MAX_MEMBERS = 20_000


def check_zip(data: bytes, source: str, what: str) -> zipfile.ZipFile:
    """The open archive, after checking its directory. Raises IngestError for a broken or hostile container."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IngestError(source, f"malformed {what}: not a readable ZIP container ({exc})") from exc
    if len(members) > MAX_MEMBERS:
        raise IngestError(source, f"refused: {len(members)} ZIP members (limit {MAX_MEMBERS}; a zip bomb?)")
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise IngestError(
            source,
            f"refused: inflates to {total / 1e6:.0f} MB (limit {MAX_UNCOMPRESSED_BYTES / 1e6:.0f} MB; a zip bomb?)",
        )
    for m in members:
        if m.file_size >= RATIO_FLOOR_BYTES and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise IngestError(
                source,
                f"refused: {m.filename} inflates {m.file_size // max(m.compress_size, 1)}x "
                f"(limit {MAX_RATIO}x; a zip bomb?)",
            )
    return archive
