"""The CJK character class, defined once for the whole project (ingest and rag).

`CJK_RANGES` is Han (unified, extension A, compatibility, extensions B and up) plus kana: scripts written without
spaces, which tokenizers treat character by character. `HANGUL_RANGES` is Korean, which separates words with spaces
but still counts as one token per syllable for size estimates.

>>> bool(CJK_CHAR.match("中")), bool(CJK_CHAR.match("か")), bool(CJK_CHAR.match("a")), bool(CJK_CHAR.match("한"))
(True, True, False, False)
"""

from __future__ import annotations

import re

CJK_RANGES = (
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0002ffff"  # Extensions B-F and beyond
)
"""Han and kana, as a regex character-class body (no brackets)."""
HANGUL_RANGES = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
"""Hangul jamo, compatibility jamo and syllables, as a regex character-class body."""
CJK_CHAR = re.compile(f"[{CJK_RANGES}]")
"""One Han or kana character."""

__all__ = ["CJK_CHAR", "CJK_RANGES", "HANGUL_RANGES"]
