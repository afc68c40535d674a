"""The fault table of the chat tests and benchmarks/reliability.py, and helpers to stop a server mid-run."""

from __future__ import annotations

import json
import threading
import time


def kill_after(server, path: str, n: int) -> threading.Thread:
    """Stop the server once it has received `n` requests to `path`."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while server.count(path) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        server.die()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


FAULTS = {
    "mid_stream_error": lambda s: setattr(s, "mid_stream_error", "model runner crashed"),
    "dropped_stream": lambda s: setattr(s, "truncate_stream", True),
    "stream_without_done": lambda s: setattr(s, "truncate_stream", "clean"),
    "malformed_json": lambda s: setattr(s, "malformed_json", True),
    "ignores_format": lambda s: setattr(s, "ignore_format", True),
    "http_500": lambda s: s.fail_next(10, 500, ["/api/chat"]),
    "busy_503_once": lambda s: s.fail_next(1, 503, ["/api/chat"]),
    "chat_model_missing": lambda s: s.missing_models.add("llama3.2"),
}
STREAM_ONLY = ("mid_stream_error", "dropped_stream", "stream_without_done")


def last_json(out: str) -> dict:
    """The last JSON document printed: the answer or the error (with --stream it follows the delta lines)."""
    decoder, docs, pos = json.JSONDecoder(), [], 0
    while pos < len(out.rstrip()):
        doc, pos = decoder.raw_decode(out, pos)
        docs.append(doc)
        while pos < len(out) and out[pos].isspace():
            pos += 1
    return docs[-1]
