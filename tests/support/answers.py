"""Comparing answer texts: a streamed answer has no [n] markers; the final `Answer.answer` adds them."""

from __future__ import annotations

import re

_MARKERS = re.compile(r" ?\[\d+(?:\s*,\s*\d+)*\]")


def unmarked(text: str) -> str:
    """`text` without its inline citation markers ("... string [1]." -> "... string.").

    >>> unmarked("Vectors, one per input [1, 2]. Done [3].")
    'Vectors, one per input. Done.'
    """
    return _MARKERS.sub("", text)
