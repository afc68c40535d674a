"""Everything the CLI prints goes through here: control sequences in document text or model output are removed.

A PDF or a model reply can carry terminal escapes (OSC 8 links, clear screen, window titles, text hidden by
cursor moves). `sanitize` drops every C0/C1 control character and escape sequence except newline and tab; the
only escapes we print are our own OSC 8 links to cited files (`file_link`), on a terminal that shows them.

>>> sanitize("ok\\x1b]8;;http://evil\\x1b\\\\click\\x1b]8;;\\x1b\\\\ \\x1b[2Jdone\\x07\\tend\\r\\n")
'okclick done\\tend\\n'
>>> sanitize("a\\x9b31mb\\x00c\\x7f")
'abc'
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

_ESCAPES = re.compile(
    r"""
    \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?    # OSC ... BEL/ST (links, window titles)
    | \x1b[P^_X][^\x1b\x9c]*(?:\x1b\\|\x9c)?       # DCS, PM, APC, SOS strings
    | \x1b\[[0-?]*[ -/]*[@-~]?                      # CSI (colours, cursor moves, clear screen)
    | \x9b[0-?]*[ -/]*[@-~]?                        # 8-bit CSI
    | [\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?  # 8-bit string introducers
    | \x1b[ -/]*[0-~]?                              # other ESC sequences (charset switches, resets)
    | \r\n                                          # kept as a newline (below)
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]                 # any other C0/C1 control, DEL
    """,
    re.VERBOSE,
)
_C1_IN_JSON = re.compile(r"[\x7f-\x9f]")


def sanitize(text: str) -> str:
    """`text` with every terminal control sequence and control character removed (newlines and tabs kept)."""
    return _ESCAPES.sub(lambda m: "\n" if m.group() == "\r\n" else "", text)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 file`, `2 files`.

    >>> plural(1, "file"), plural(2, "file"), plural(0, "chunk")
    ('1 file', '2 files', '0 chunks')
    """
    return f"{n} {word if n == 1 else many or word + 's'}"


def echo(text: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """click.echo of the sanitised text (stdout, or stderr with err=True)."""
    click.echo(sanitize(str(text)), err=err, nl=nl)


def echo_raw(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print text we built ourselves that holds our own escapes (links, the status line); never document text."""
    click.echo(text, err=err, nl=nl)


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """JSON for stdout. json.dumps escapes C0 controls; C1 and DEL are escaped here too, so the output is inert."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _C1_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def links_supported(stream: Any = None) -> bool:
    """True when `stream` (default stdout) is a terminal likely to show OSC 8 links. RAG_LINKS=0/1 forces it."""
    forced = os.environ.get("RAG_LINKS")
    if forced is not None:
        return forced not in ("", "0", "no", "false")
    stream = stream or sys.stdout
    if not (hasattr(stream, "isatty") and stream.isatty()) or os.environ.get("TERM") in (None, "", "dumb"):
        return False
    return (
        any(os.environ.get(v) for v in ("WT_SESSION", "VTE_VERSION", "KITTY_WINDOW_ID", "WEZTERM_PANE"))
        or os.environ.get("TERM_PROGRAM") in ("iTerm.app", "WezTerm", "vscode", "ghostty")
        or "kitty" in os.environ.get("TERM", "")
        or "foot" in os.environ.get("TERM", "")
    )


def file_link(label: str, path: str | Path | None, *, enabled: bool) -> str:
    """The sanitised `label`, wrapped in an OSC 8 link to the file `path` when enabled (and the file exists)."""
    label = sanitize(label)
    if not enabled or path is None or not Path(path).exists():
        return label
    uri = sanitize(Path(path).resolve().as_uri())
    return f"\x1b]8;;{uri}\x1b\\{label}\x1b]8;;\x1b\\"


__all__ = ["plural", "echo", "echo_raw", "file_link", "json_text", "links_supported", "sanitize"]
