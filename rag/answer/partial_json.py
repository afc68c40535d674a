"""Incremental extraction of one string field (top-level, or every nested occurrence) from JSON text that arrives in
pieces.

Used to print the `answer` of a streamed structured reply as it is generated:

    >>> field = StringFieldStream("answer")
    >>> [field.feed(p) for p in ['{"answerable": true, "ans', 'wer": "Caf\\\\u00', 'e9 \\\\"ok', '\\\\""', ', "x": 1}']]
    ['', 'Caf', 'é "ok', '"', '']
    >>> field.done
    True
"""

from __future__ import annotations

_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class StringFieldStream:
    """Feed JSON text piece by piece; each `feed()` returns the newly decoded characters of the field's string value.

    Only the field at the top level of the outermost object counts; escapes (including `\\uXXXX` and surrogate
    pairs split across pieces) are decoded. Non-string values of the field yield nothing.
    """

    def __init__(self, name: str, *, nested: bool = False) -> None:
        self.name = name
        self.nested = nested
        """Capture the field in every object at any depth (e.g. each item's "claim"), joined by single spaces."""
        self.done = False
        """True once the field's closing quote was read (with `nested`: at least once)."""
        self._count = 0
        self._pending_space = False
        self._stack: list[str] = []  # open containers: "{" or "["
        self._expect_key = False
        self._in_string = False
        self._is_key = False
        self._capturing = False
        self._key: list[str] = []
        self._last_key: str | None = None
        self._escape: str | None = None  # None, or the escape read so far after the backslash
        self._high: str | None = None  # a high surrogate waiting for its pair

    def feed(self, piece: str) -> str:
        """Consume `piece`; return the decoded characters of the field that it completed."""
        out: list[str] = []
        for ch in piece:
            if self._in_string:
                self._string_char(ch, out)
            else:
                self._structure_char(ch)
        return "".join(out)

    def _emit(self, text: str, out: list[str]) -> None:
        if self._high is not None and not ("\udc00" <= text <= "\udfff"):
            self._put("\ufffd", out)
            self._high = None
        if "\ud800" <= text <= "\udbff":
            self._high = text
            return
        if "\udc00" <= text <= "\udfff":
            text = (
                (self._high + text).encode("utf-16-le", "surrogatepass").decode("utf-16-le") if self._high else "\ufffd"
            )
            self._high = None
        self._put(text, out)

    def _put(self, text: str, out: list[str]) -> None:
        if self._is_key:
            self._key.append(text)
        elif self._capturing:
            if self._pending_space:
                out.append(" ")
                self._pending_space = False
            out.append(text)

    def _string_char(self, ch: str, out: list[str]) -> None:
        if self._escape is not None:
            self._escape += ch
            if self._escape[0] != "u":
                self._emit(_SIMPLE_ESCAPES.get(ch, ch), out)
                self._escape = None
            elif len(self._escape) == 5:
                try:
                    self._emit(chr(int(self._escape[1:], 16)), out)
                except ValueError:
                    self._emit("\ufffd", out)
                self._escape = None
        elif ch == "\\":
            self._escape = ""
        elif ch == '"':
            if self._high is not None:
                self._put("\ufffd", out)
                self._high = None
            self._in_string = False
            if self._is_key:
                self._last_key = "".join(self._key)
                self._is_key = False
            elif self._capturing:
                self._capturing = False
                self.done = True
                self._count += 1
        else:
            self._emit(ch, out)

    def _structure_char(self, ch: str) -> None:
        top_object = self._stack == ["{"] or (self.nested and bool(self._stack) and self._stack[-1] == "{")
        if ch in "{[":
            self._stack.append(ch)
            self._expect_key = ch == "{"
        elif ch in "}]":
            if self._stack:
                self._stack.pop()
            self._expect_key = False
        elif ch == '"':
            self._in_string = True
            self._is_key = top_object and self._expect_key
            self._key = []
            self._capturing = (
                top_object and not self._expect_key and self._last_key == self.name and (self.nested or not self.done)
            )
            if self._capturing and self._count:
                self._pending_space = True
        elif ch == ":" and top_object:
            self._expect_key = False
        elif ch == "," and top_object:
            self._expect_key = True
            self._last_key = None
        elif ch == "," and self._stack and self._stack[-1] == "{":
            self._expect_key = True
        elif ch == ":" and self._stack and self._stack[-1] == "{":
            self._expect_key = False


__all__ = ["StringFieldStream"]
