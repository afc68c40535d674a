"""The status line on stderr while the model works: "retrieved 6 passages in 12 ms - waiting for llama3.2 ... 4 s".

Shown only on a terminal (never under --json or when stderr is piped), redrawn in place every quarter second by a
daemon thread, and erased before the answer is printed. It is fed by the library's `on_event(name, data)` callback.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from rag.cli._output import sanitize

TICK_S = 0.25
"""Seconds between redraws of the elapsed time."""
ERASE = "\r\x1b[K"


class StatusLine:
    """A one-line, self-erasing progress display. Call it as the `on_event` callback; `clear()` before printing.

    Args:
        enabled: draw at all (the caller passes False for --json or a non-terminal stderr).
        stream: where to draw (default stderr).
        loaded: `loaded(model) -> bool | None`, asked once per wait in the drawing thread: False adds "loading the
            model" (Ollama's /api/ps does not list it yet, so this call will load it first); None means unknown.
    """

    def __init__(self, enabled: bool, stream: TextIO | None = None, loaded: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.loaded = loaded
        self.retrieved = ""
        self._text = ""
        self._started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._shown = False

    def __call__(self, name: str, data: dict[str, Any]) -> None:
        if name == "retrieved":
            self.retrieved = f"retrieved {data.get('hits', 0)} passages in {data.get('ms', 0):.0f} ms"
            self._start(self.retrieved, model=None)
        elif name == "rewriting":
            self._start(f"rewriting the follow-up with {data.get('model')}", model=None)
        elif name == "waiting":
            prefix = f"{self.retrieved} - " if self.retrieved else ""
            self._start(f"{prefix}waiting for {data.get('model')}", model=str(data.get("model")))

    def _start(self, text: str, *, model: str | None) -> None:
        if not self.enabled:
            return
        self.clear()
        with self._lock:
            self._text, self._started = sanitize(text), time.monotonic()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._stop, model), daemon=True)
            self._thread.start()

    def _run(self, stop: threading.Event, model: str | None) -> None:
        if model and self.loaded is not None:
            try:
                loaded = self.loaded(model)
            except Exception:
                loaded = None
            if loaded is False and not stop.is_set():
                with self._lock:
                    self._text += " (loading the model)"
        while True:
            self.draw()
            if stop.wait(TICK_S):
                return

    def line(self) -> str:
        """The text drawn now: the message and the elapsed whole seconds."""
        return f"{self._text} ... {time.monotonic() - self._started:.0f} s"

    def draw(self) -> None:
        """Redraw the line in place."""
        with self._lock:
            if self._stop.is_set() or not self._text:
                return
            self.stream.write(ERASE + self.line())
            self.stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Stop redrawing and erase the line (before any output)."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        with self._lock:
            if self._shown:
                self.stream.write(ERASE)
                self.stream.flush()
                self._shown = False


def model_loaded(host: str) -> Any:
    """A `loaded(model)` check for StatusLine: is `model` in Ollama's /api/ps (a separate short-timeout client)?"""

    def loaded(model: str) -> bool | None:
        from rag.ollama import Client
        from rag.ollama.names import same_model

        with Client(host, timeout=2.0, connect_timeout=1.0, retries=0) as client:
            return any(same_model(m.name or m.model, model) for m in client.ps())

    return loaded


__all__ = ["ERASE", "TICK_S", "StatusLine", "model_loaded"]
