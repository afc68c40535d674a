"""A fake Ollama server for tests: real HTTP/1.1 on 127.0.0.1 (keep-alive, chunked NDJSON streams).

    with FakeOllama() as server:              # or the `ollama` fixture, which also sets OLLAMA_HOST
        Client(server.url).embed("all-minilm", ["hello"])
        assert server.count("/api/embed") == 1

Embeddings are deterministic hashed features (words, character 3-grams, Han characters and bigrams), so texts that
share words land close together. Chat and generate with a JSON-schema `format` reply with JSON built from the schema,
quoting real sentences from the prompt's context. Fault knobs (latency, fail_next, missing_models, mid_stream_error,
truncate_stream, malformed_json, ignore_format, legacy_only, embed_context_length, and the hostile ones: trickle,
trickle_head, endless_stream, oversize_bytes, bad_vectors) are cleared by `reset()`.

Run standalone for subprocess tests: `python tests/ollama_server.py --port 11500` (prints the URL, serves until killed).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

VERSION = "0.6.8"
DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "all-minilm": dict(
        family="bert",
        embedding_length=384,
        context_length=512,
        capabilities=["embedding"],
        parameter_size="23M",
        size=45_960_996,
    ),
    "nomic-embed-text": dict(
        family="nomic-bert",
        embedding_length=768,
        context_length=2048,
        capabilities=["embedding"],
        parameter_size="137M",
        size=274_302_450,
    ),
    "bge-m3": dict(
        family="bert",
        embedding_length=1024,
        context_length=8192,
        capabilities=["embedding"],
        parameter_size="567M",
        size=1_157_672_605,
    ),
    "llama3.2": dict(
        family="llama",
        embedding_length=3072,
        context_length=131072,
        capabilities=["completion", "tools"],
        parameter_size="3.2B",
        size=2_019_393_189,
    ),
}
MODEL_NOT_FOUND = 'model "{name}" not found, try pulling it first'
CONTEXT_ERROR = "the input length exceeds the context length"
BUSY_ERROR = "server busy, please try again.  maximum pending requests exceeded"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]|[^\W{_HAN}]+|[^\w\s]")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_METADATA = re.compile(r"^\W*(\[[^\]]*\]\s*)?(source|file|path|page|id|chunk|section|title|heading)s?\b\s*[:=]", re.I)


def canonical(name: str) -> str:
    """Ollama's model-name rule: a missing tag means ":latest"."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def count_tokens(text: str) -> int:
    """The fake's crude token count: words, Han characters and punctuation marks."""
    return len(_TOKEN.findall(text))


def truncate_tokens(text: str, limit: int) -> str:
    """The prefix of `text` holding its first `limit` tokens."""
    for i, match in enumerate(_TOKEN.finditer(text)):
        if i == limit:
            return text[: match.start()]
    return text


@lru_cache(maxsize=200_000)
def _slot(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dim, 1.0 if value >> 63 else -1.0


def embed_text(text: str, dim: int) -> list[float]:
    """A deterministic unit vector from hashed words, char 3-grams, Han unigrams and bigrams of NFKC-lowercased text."""
    norm = unicodedata.normalize("NFKC", text).lower()
    features: list[tuple[str, float]] = []
    for word in re.findall(rf"[^\W{_HAN}]+", norm):
        features.append(("w:" + word, 1.0))
        padded = f" {word} "
        features += [("c:" + padded[i : i + 3], 0.5) for i in range(len(padded) - 2)]
    for run in re.findall(rf"[{_HAN}]+", norm):
        features += [("h:" + ch, 1.0) for ch in run]
        features += [("b:" + run[i : i + 2], 1.0) for i in range(len(run) - 1)]
    vector = np.zeros(dim)
    for feature, weight in features or [("empty", 1.0)]:
        index, sign = _slot(feature, dim)
        vector[index] += sign * weight
    return (vector / np.linalg.norm(vector)).round(7).tolist()


# ---- replies built from a JSON schema ---------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s.strip() for line in text.splitlines() for s in _SENTENCE_END.split(line) if s.strip()]


def _find(needle: str, haystack: str, start: int = 0) -> int:
    """Index of `needle` as a whole token in `haystack` (not inside a longer word), else -1."""
    match = re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)").search(haystack, start)
    return match.start() if match else -1


def _words(text: str) -> set[str]:
    return set(_TOKEN.findall(unicodedata.normalize("NFKC", text).lower())) - set(".,;:!?()[]\"'-")


def _question(prompt: str) -> tuple[int, str]:
    """Where the question starts in a prompt and its text: after the last "Question:", else the last non-empty line."""
    at = max(prompt.rfind("Question:"), prompt.rfind("问题："))
    if at < 0:
        at = prompt.rstrip().rfind("\n") + 1
    line = prompt[at:].split("\n", 1)[0]
    return at, re.sub(r"^(Question:|问题：)", "", line)


def _best_sentence(text: str, avoid: list[str], question: str) -> tuple[int, str] | None:
    """The sentence of `text` sharing most words with `question` (earliest on ties), among those that look like
    document text: 4+ tokens, not a metadata line, no ids."""
    wanted = _words(question)
    best: tuple[int, str] | None = None
    for sentence in _sentences(text):
        if count_tokens(sentence) < 4 or _METADATA.match(sentence) or any(_find(a, sentence) >= 0 for a in avoid):
            continue
        score = len(_words(sentence) & wanted)
        if best is None or score > best[0]:
            best = (score, sentence)
    return best


class _SchemaFiller:
    """Builds a JSON value valid for a schema, quoting the prompt's context deterministically."""

    def __init__(self, schema: dict[str, Any], prompt: str) -> None:
        self.root, self.prompt = schema, prompt
        self.question_at, self.question = _question(prompt)
        self.ids = [v for v in self._enum_values(schema) if isinstance(v, str) and v and _find(v, prompt) >= 0]
        self.sentences = {i: found for i in self.ids if (found := self._scored(i))}
        # the chunk that matches the question best (the earliest listed on ties) is the one cited
        self.primary = max(
            self.ids,
            key=lambda i: (self.sentences[i][0] if i in self.sentences else -1, -self.ids.index(i)),
            default=None,
        )
        self.default_text = self._text_for(self.primary)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            return self._resolve(target)
        return schema

    def _enum_values(self, schema: Any, depth: int = 0) -> list[Any]:
        if not isinstance(schema, dict) or depth > 20:
            return []
        schema = self._resolve(schema)
        found = list(schema.get("enum") or [])
        for key in ("properties", "$defs", "definitions"):
            for sub in (schema.get(key) or {}).values():
                found += self._enum_values(sub, depth + 1)
        for key in ("items", "anyOf", "oneOf", "allOf"):
            subs = schema.get(key)
            for sub in subs if isinstance(subs, list) else [subs]:
                found += self._enum_values(sub, depth + 1)
        return found

    def _scored(self, chunk_id: str) -> tuple[int, str] | None:
        """The sentence of the chunk under `chunk_id` that best matches the question, with its word overlap. The
        chunk runs from the id's header line (`[S1] (source, pages)` style) to the next id."""
        bracketed = self.prompt.find(f"[{chunk_id}]")
        start = (bracketed + 1 if bracketed >= 0 else _find(chunk_id, self.prompt)) + len(chunk_id)
        eol = self.prompt.find("\n", start)
        header = self.prompt[start : eol if eol >= 0 else None].strip(" ]")
        if eol >= 0 and (not header or header.startswith("(") or _METADATA.match(header)):
            start = eol
        ends = [_find(other, self.prompt, start) for other in self.ids if other != chunk_id]
        end = min([e for e in ends if e >= 0] + [self.question_at if self.question_at > start else len(self.prompt)])
        return _best_sentence(self.prompt[start:end], self.ids, self.question)

    def _text_for(self, chunk_id: str | None) -> str:
        found = self.sentences.get(chunk_id) if chunk_id else None
        found = found or _best_sentence(self.prompt[: self.question_at], self.ids, self.question)
        return found[1] if found else "No answer found in the context."

    def value(self, schema: Any, name: str = "") -> Any:
        if not isinstance(schema, dict):
            return None
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            if self.primary in schema["enum"]:
                return self.primary
            return next((v for v in schema["enum"] if v in self.ids), schema["enum"][0])
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.value(schema[key][0], name)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            return self._object(schema)
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            return [self.value(schema.get("items", {}), name) for _ in range(count)]
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            low = schema.get("minimum", 1)
            high = schema.get("maximum", low)
            return (int if kind == "integer" else float)(min(max(low, 1), high))
        if kind == "null":
            return None
        return self.default_text

    def _object(self, schema: dict[str, Any]) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        result = {name: self.value(sub, name) for name, sub in properties.items()}
        chosen = next((v for v in result.values() if isinstance(v, str) and v in self.ids), None)
        for name in properties:
            if "quote" in name.lower() and isinstance(result[name], str):
                result[name] = self._text_for(chosen)
        return result


def reply_for_schema(schema: dict[str, Any], prompt: str) -> str:
    """JSON text valid for `schema`. Enums pick the id whose chunk best matches the question (else a value found in
    the prompt, else the first); "quote" fields copy a sentence of the chosen chunk, "answer" the best sentence."""
    return json.dumps(_SchemaFiller(schema, prompt).value(schema), ensure_ascii=False)


# ---- the server -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    body: Any = None
    """The parsed JSON body (None when empty or not JSON)."""
    headers: dict[str, str] = field(default_factory=dict)
    client_port: int = 0
    """The client's source port: equal ports on one server mean one kept-alive connection."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeOllama, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_DELETE = do_HEAD = do_GET

    slow: float = 0.0
    """Seconds between bytes of the reply body (0: at once); set per request from FakeOllama.trickle."""
    slow_head = False
    """Trickle the status line and headers too."""

    def write_out(self, data: bytes) -> None:
        """Write reply bytes, one byte every `slow` seconds when trickling (until the client or the server goes)."""
        if not self.slow:
            self.wfile.write(data)
            return
        fake = self.server.fake
        for i in range(len(data)):
            if fake._server is None:
                raise OSError("server stopped")
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
            time.sleep(self.slow)

    def end_headers(self) -> None:
        if self.slow and self.slow_head:  # trickle the head: take the buffered status line and headers
            self._headers_buffer.append(b"\r\n")
            head, self._headers_buffer = b"".join(self._headers_buffer), []
            self.write_out(head)
            return
        super().end_headers()

    def send_json(self, status: int, data: Any) -> None:
        self.send_body(status, json.dumps(data).encode(), "application/json; charset=utf-8")

    def send_body(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.write_out(payload)

    def send_stream(self, lines: list[dict[str, Any]], *, cut_after: int | None = None) -> None:
        """Chunked NDJSON, one chunk per line; with cut_after, drop the connection after that many lines."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i, line in enumerate(lines):
            if cut_after is not None and i == cut_after:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = (json.dumps(line, ensure_ascii=False) + "\n").encode()
            self.write_out(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        self.write_out(b"0\r\n\r\n")

    def send_endless(self, piece: Callable[[int], dict[str, Any]], interval: float) -> None:
        """A chunked NDJSON stream that never sends its done line: `piece(i)` every `interval` seconds until the
        client hangs up or the server stops."""
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        i = 0
        while self.server.fake._server is not None:
            data = (json.dumps(piece(i), ensure_ascii=False) + "\n").encode()
            self.write_out(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            i += 1
            time.sleep(interval)
        self.close_connection = True


ENDLESS_INTERVAL = 0.05
"""Seconds between the pieces of an `endless_stream`."""
HOLD_DEADLINE_S = 120.0
"""The longest `hold()` keeps a request before answering anyway."""


class FakeOllama:
    """A threaded fake Ollama on 127.0.0.1. Context manager; `.url`, `.requests`, `.count(path)`, `.reset()`.

    Args:
        port: port to bind (0: a free one, kept across `restart()`).
        models: installed models, name -> dict(family, embedding_length, context_length, capabilities, ...);
            default DEFAULT_MODELS. Names match with or without ":latest".
    """

    def __init__(self, port: int = 0, models: dict[str, dict[str, Any]] | None = None) -> None:
        self.port = port
        self.models = {canonical(k): self._model_entry(k, v) for k, v in (models or DEFAULT_MODELS).items()}
        self.registry = {canonical(k): self._model_entry(k, v) for k, v in DEFAULT_MODELS.items()} | self.models
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._connections: set[socket.socket] = set()
        self._requests: list[Recorded] = []
        self.loaded: set[str] = set()
        self.reset()

    @staticmethod
    def _model_entry(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        entry = dict(
            family="llama",
            embedding_length=768,
            context_length=2048,
            capabilities=["completion"],
            parameter_size="1B",
            size=1_000_000,
            quantization_level="Q4_K_M",
        )
        entry.update(spec)
        entry.setdefault("digest", hashlib.sha256(canonical(name).encode()).hexdigest())
        return entry

    def reset(self) -> None:
        """Forget recorded requests and clear every fault knob and scripted reply."""
        with self._lock:
            self._requests.clear()
            self._failures: list[tuple[int, int, tuple[str, ...] | None]] = []
        self.latency = 0.0
        gate = getattr(self, "_gate", None)
        if gate is not None:
            gate[2].set()  # never leave a request held across a reset
        self._gate: tuple[str, int, threading.Event] | None = None
        self.missing_models: set[str] = set()
        self.mid_stream_error: str | None = None
        self.truncate_stream: bool | str = False  # True: drop the connection; "clean": end the body without done
        self.malformed_json = False
        self.ignore_format = False
        self.legacy_only = False
        self.embed_context_length: int | None = None
        self.chat_reply: Callable[[dict[str, Any]], str] | list[str] | None = None
        # hostile servers
        self.trickle: dict[str, float] = {}
        """path -> seconds between bytes of its replies (1.0: one byte a second), e.g. {"/api/chat": 1.0}."""
        self.trickle_head = False
        """Trickle the status line and headers too, not only the body."""
        self.endless_stream = False
        """Streamed chat/generate replies never end: a content piece every ENDLESS_INTERVAL s, never done."""
        self.oversize_bytes = 0
        """Chat/generate content of this many bytes (streamed or not) instead of the real reply (0: off)."""
        self.bad_vectors: str | None = None
        """"nan" or "inf": /api/embed vectors carry that value (bare NaN / Infinity in the JSON, as Python writes)."""

    # ---- lifecycle ----

    def start(self) -> FakeOllama:
        """Bind (the same port again after a stop) and serve in a daemon thread."""
        self._server = _Server(self, self.port)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the port and every open connection, like Ollama going down."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    die = stop

    def restart(self) -> FakeOllama:
        """Serve again on the same port."""
        self.stop()
        return self.start()

    def __enter__(self) -> FakeOllama:
        return self.start() if self._server is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- inspection and faults ----

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def count(self, path: str) -> int:
        """How many requests hit `path` (e.g. "/api/embed")."""
        return sum(1 for r in self.requests if r.path == path)

    def bodies(self, path: str) -> list[Any]:
        """The JSON bodies sent to `path`, in order."""
        return [r.body for r in self.requests if r.path == path]

    def fail_next(self, n: int = 1, status: int = 500, paths: list[str] | tuple[str, ...] | None = None) -> None:
        """Answer the next `n` requests (to `paths`, default any) with `status` and an Ollama-style error body;
        status 0 drops the connection without answering (a server that dies mid-request)."""
        with self._lock:
            self._failures.append((n, status, tuple(paths) if paths else None))

    def hold(self, path: str, after: int) -> None:
        """Answer the first `after` requests to `path`, then hold every later one until `release()` (or
        HOLD_DEADLINE_S, so a test that forgets cannot hang): a run is then stuck at a point the test knows."""
        with self._lock:
            self._gate = (path, after, threading.Event())

    def release(self) -> None:
        """Let held requests (and later ones) through."""
        with self._lock:
            gate, self._gate = self._gate, None
        if gate is not None:
            gate[2].set()

    def _wait_at_gate(self, path: str) -> None:
        with self._lock:
            gate = self._gate
            if gate is None or gate[0] != path or sum(1 for r in self._requests if r.path == path) <= gate[1]:
                return
        gate[2].wait(HOLD_DEADLINE_S)

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _take_failure(self, path: str) -> int | None:
        with self._lock:
            for i, (n, status, paths) in enumerate(self._failures):
                if paths is None or path in paths:
                    self._failures[i] = (n - 1, status, paths)
                    if n - 1 <= 0:
                        del self._failures[i]
                    return status
        return None

    def _find(self, name: str | None) -> dict[str, Any] | None:
        if not name or canonical(name) in {canonical(m) for m in self.missing_models}:
            return None
        return self.models.get(canonical(name))

    # ---- request handling ----

    def _handle(self, h: _Handler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = h.path.split("?")[0]
        with self._lock:
            self._requests.append(Recorded(h.command, path, body, dict(h.headers.items()), h.client_address[1]))
        h.slow, h.slow_head = self.trickle.get(path, 0.0), self.trickle_head
        try:
            self._wait_at_gate(path)
            if self.latency:
                time.sleep(self.latency)
            status = self._take_failure(path)
            if status == 0:
                h.close_connection = True
                return None
            if status is not None:
                return h.send_json(status, {"error": BUSY_ERROR if status == 503 else f"injected failure {status}"})
            route = self._routes().get((h.command, path))
            if route is None:
                return h.send_body(404, b"404 page not found", "text/plain")
            route(h, body if isinstance(body, dict) else {})
        except OSError:
            h.close_connection = True  # the client gave up (timeout) or the server is stopping
        except Exception as exc:  # a bug in the fake: make it visible to the test
            h.send_json(500, {"error": f"fake server bug: {exc!r}"})

    def _routes(self) -> dict[tuple[str, str], Callable[[_Handler, dict[str, Any]], None]]:
        return {
            ("GET", "/"): lambda h, b: h.send_body(200, b"Ollama is running", "text/plain"),
            ("HEAD", "/"): lambda h, b: h.send_body(200, b"", "text/plain"),
            ("GET", "/api/version"): lambda h, b: h.send_json(200, {"version": VERSION}),
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/embed"): self._embed,
            ("POST", "/api/embeddings"): self._embeddings,
            ("POST", "/api/chat"): self._chat,
            ("POST", "/api/generate"): self._generate,
            ("POST", "/api/pull"): self._pull,
        }

    def _details(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": entry["family"],
            "families": [entry["family"]],
            "parameter_size": entry["parameter_size"],
            "quantization_level": entry["quantization_level"],
        }

    def _listing(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "size": entry["size"],
            "digest": entry["digest"],
            "details": self._details(entry),
        }

    def _tags(self, h: _Handler, body: dict[str, Any]) -> None:
        models = [
            self._listing(n, e) | {"modified_at": "2025-01-01T00:00:00Z"}
            for n, e in self.models.items()
            if self._find(n)
        ]
        h.send_json(200, {"models": models})

    def _ps(self, h: _Handler, body: dict[str, Any]) -> None:
        models = [
            self._listing(n, self.models[n])
            | {"size_vram": self.models[n]["size"], "expires_at": "2099-01-01T00:00:00Z"}
            for n in sorted(self.loaded)
            if n in self.models
        ]
        h.send_json(200, {"models": models})

    def _show(self, h: _Handler, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name")
        entry = self._find(name)
        if entry is None:
            return h.send_json(404, {"error": f"model '{name}' not found"})
        arch = entry["family"]
        info = {
            "general.architecture": arch,
            f"{arch}.context_length": entry["context_length"],
            f"{arch}.embedding_length": entry["embedding_length"],
            "general.parameter_count": entry["size"] // 2,
        }
        h.send_json(
            200,
            {
                "details": self._details(entry),
                "model_info": info,
                "capabilities": entry["capabilities"],
                "modelfile": f"FROM {name}\n",
                "parameters": "",
                "template": "{{ .Prompt }}",
            },
        )

    def _model_or_404(self, h: _Handler, body: dict[str, Any]) -> dict[str, Any] | None:
        entry = self._find(body.get("model"))
        if entry is None:
            h.send_json(404, {"error": MODEL_NOT_FOUND.format(name=body.get("model"))})
        else:
            self.loaded.add(canonical(body["model"]))
        return entry

    def _vector(self, entry: dict[str, Any], text: str, truncate: bool, dimensions: Any) -> list[float] | None:
        limit = self.embed_context_length or entry["context_length"]
        if count_tokens(text) > limit:
            if not truncate:
                return None
            text = truncate_tokens(text, limit)
        dim = entry["embedding_length"]
        vector = embed_text(text, dim)
        if isinstance(dimensions, int) and 0 < dimensions < dim:
            head = np.array(vector[:dimensions])
            vector = (head / (np.linalg.norm(head) or 1.0)).tolist()
        return vector

    def _embed(self, h: _Handler, body: dict[str, Any]) -> None:
        if self.legacy_only:
            return h.send_body(404, b"404 page not found", "text/plain")
        entry = self._model_or_404(h, body)
        if entry is None:
            return
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        truncate = body.get("truncate", True) is not False
        vectors = [self._vector(entry, t, truncate, body.get("dimensions")) for t in texts]
        if any(v is None for v in vectors):
            return h.send_json(400, {"error": CONTEXT_ERROR})
        if self.bad_vectors:
            bad = float(self.bad_vectors)
            vectors = [[bad, *v[1:]] for v in vectors if v is not None]
        tokens = sum(min(count_tokens(t), self.embed_context_length or entry["context_length"]) for t in texts)
        h.send_json(
            200,
            {
                "model": body["model"],
                "embeddings": vectors,
                "total_duration": 1_000_000 * len(texts),
                "load_duration": 1_000,
                "prompt_eval_count": tokens,
            },
        )

    def _embeddings(self, h: _Handler, body: dict[str, Any]) -> None:
        entry = self._model_or_404(h, body)
        if entry is not None:
            h.send_json(200, {"embedding": self._vector(entry, str(body.get("prompt") or ""), True, None)})

    # ---- chat and generate ----

    def _content(self, body: dict[str, Any], prompt: str) -> str:
        if self.oversize_bytes:
            filler = "All work and no play makes a long reply. "
            return (filler * (self.oversize_bytes // len(filler) + 1))[: self.oversize_bytes]
        reply = self.chat_reply
        if callable(reply):
            return reply(body)
        if isinstance(reply, list) and reply:
            return reply.pop(0)
        fmt = body.get("format")
        if fmt and self.malformed_json:
            return '{"answer": "the reply stops in the middle of a str'
        text = _SchemaFiller({}, prompt).default_text
        if fmt and not self.ignore_format:
            return reply_for_schema(fmt, prompt) if isinstance(fmt, dict) else json.dumps({"answer": text})
        return f"Here is what the context says: {text}"

    def _complete(self, h: _Handler, body: dict[str, Any], prompt: str, kind: str) -> None:
        entry = self._model_or_404(h, body)
        if entry is None:
            return
        if "completion" not in entry["capabilities"]:
            return h.send_json(400, {"error": f'"{body["model"]}" does not support {kind}'})
        loading = not prompt.strip()
        content = "" if loading else self._content(body, prompt)
        stamp = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
        base = {"model": body["model"], "created_at": stamp}

        def piece(text: str) -> dict[str, Any]:
            if kind == "chat":
                return base | {"message": {"role": "assistant", "content": text}}
            return base | {"response": text}

        final = piece("") | {
            "done": True,
            "done_reason": "load" if loading else "stop",
            "total_duration": 5_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": count_tokens(prompt),
            "prompt_eval_duration": 2_000_000,
            "eval_count": len(content) // 5 if self.oversize_bytes else count_tokens(content),
            "eval_duration": 2_000_000,
        }
        if body.get("think") and kind == "chat":
            final["message"]["thinking"] = "Let me look at the context."
        if body.get("stream", True) is False:
            full = final | piece(content)
            if kind == "chat" and body.get("think"):
                full["message"]["thinking"] = final["message"]["thinking"]
            return h.send_json(200, full)
        if self.endless_stream:
            return h.send_endless(lambda i: piece(f"word{i} ") | {"done": False}, ENDLESS_INTERVAL)
        size = max(1, -(-len(content) // 5), len(content) // 1000)  # 5 pieces; an oversize reply in 64 KB ones
        size = min(size, 65536) if self.oversize_bytes else size
        lines = [piece(content[i : i + size]) | {"done": False} for i in range(0, len(content), size)] + [final]
        if self.mid_stream_error:
            lines = lines[:2] + [{"error": self.mid_stream_error}]
        if self.truncate_stream == "clean":
            lines = lines[:2]  # a well-formed body that just stops before the done line
        h.send_stream(lines, cut_after=2 if self.truncate_stream is True else None)

    def _chat(self, h: _Handler, body: dict[str, Any]) -> None:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        self._complete(h, body, "\n".join(str(m.get("content") or "") for m in messages), "chat")

    def _generate(self, h: _Handler, body: dict[str, Any]) -> None:
        prompt = "\n".join(str(body.get(k) or "") for k in ("system", "prompt") if body.get(k))
        self._complete(h, body, prompt, "generate")

    def _pull(self, h: _Handler, body: dict[str, Any]) -> None:
        name = canonical(str(body.get("model") or body.get("name") or ""))
        entry = self.registry.get(name)
        if entry is None:
            lines: list[dict[str, Any]] = [
                {"status": "pulling manifest"},
                {"error": "pull model manifest: file does not exist"},
            ]
        else:
            total, digest = entry["size"], "sha256:" + entry["digest"]
            lines = [{"status": "pulling manifest"}]
            lines += [
                {
                    "status": f"pulling {entry['digest'][:12]}",
                    "digest": digest,
                    "total": total,
                    "completed": total * step // 4,
                }
                for step in range(5)
            ]
            lines += [{"status": s} for s in ("verifying sha256 digest", "writing manifest", "success")]
            self.models[name] = copy.deepcopy(entry)
            self.missing_models = {m for m in self.missing_models if canonical(m) != name}
        if body.get("stream", True) is False:
            last = lines[-1]
            return h.send_json(500 if "error" in last else 200, last)
        h.send_stream(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the fake Ollama until killed.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    args = parser.parse_args()
    server = FakeOllama(port=args.port).start()
    server.latency = args.latency
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
