"""Is a page's extracted text usable? Detects garbage text layers without a language model.

Three signals, each cheap and tuned on the PDFs in ../shared/eval/pdfs:
- bad characters: U+FFFD, private-use, unassigned, surrogate and control characters (a broken font map);
- mixed-script mojibake: letters that flip between unrelated scripts inside one word, as pypdf 7.1 does with
  CJK fonts of some TeX-made PDFs (Chinese comes out as Hangul jamo, Ethiopic, Greek, Thai, ... side by side);
- dropped word spaces: Latin text whose letter runs are far longer than words in any real language.
"""

from __future__ import annotations

import re
import unicodedata

GARBLED_CHARS = "garbled text (replacement, private-use or control characters)"
MOJIBAKE = "garbled text layer (mixed-script mojibake; broken font encoding)"
NO_WORD_SPACES = "word spaces missing in extracted text"

_MIN_CHARS = 20
_BAD_SHARE = 0.10
_MIN_PAIRS = 10
_MIXED_SHARE = 0.25
_MIN_LATIN_LETTERS = 200
_MAX_MEAN_RUN = 11.0
_MAX_LONG_RUNS = 1
_LATIN_RUN = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_LONG_LOWER_RUN = re.compile(r"[a-z\u00df-\u00ff\u0100-\u024f]{25,}")  # longer than nearly any real word
_OK_CONTROLS = frozenset("\n\t\r\f")
_EAST_ASIAN = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "KANGXI", "BOPOMOFO", "HALFWIDTH", "FULLWIDTH")


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "")
    first = name.split(" ", 1)[0]
    return "EAST_ASIAN" if first in _EAST_ASIAN else first


def assess(text: str) -> str | None:
    """None when `text` looks like real text, else one of GARBLED_CHARS, MOJIBAKE, NO_WORD_SPACES."""
    visible = [c for c in text if not c.isspace()]
    if len(visible) < _MIN_CHARS:
        return None
    bad = 0
    pairs = mixed = 0
    prev_script: str | None = None
    for ch in text:
        cat = unicodedata.category(ch)
        if ch == "\ufffd" or cat in ("Co", "Cn", "Cs") or (cat == "Cc" and ch not in _OK_CONTROLS):
            bad += 1
        if cat[0] == "L" and ord(ch) > 0x24F:
            script = _script(ch)
            if prev_script is not None:
                pairs += 1
                mixed += script != prev_script
            prev_script = script
        elif cat[0] != "M":  # combining marks belong to the letter before them
            prev_script = None
    if bad / len(visible) > _BAD_SHARE:
        return GARBLED_CHARS
    if pairs >= _MIN_PAIRS and mixed / pairs > _MIXED_SHARE:
        return MOJIBAKE
    runs = _LATIN_RUN.findall(text)
    letters = sum(map(len, runs))
    if letters >= _MIN_LATIN_LETTERS and letters / len(runs) > _MAX_MEAN_RUN:
        return NO_WORD_SPACES
    if len(_LONG_LOWER_RUN.findall(text)) > _MAX_LONG_RUNS:
        return NO_WORD_SPACES
    return None
