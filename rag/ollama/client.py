"""Typed client for the Ollama HTTP API: one `httpx.Client`, typed results, errors that say the fix.

    with Client() as ollama:                     # OLLAMA_HOST, else http://127.0.0.1:11434
        vectors = ollama.embed("all-minilm", ["some text"]).embeddings
        reply = ollama.chat("llama3.2", [{"role": "user", "content": "hi"}]).message.content

All HTTP goes through `_request` (one JSON reply) and `_stream` (NDJSON lines); they translate transport errors
and error statuses into `rag.errors` in one place and retry only where it is safe.

Every call has a wall-clock deadline (`timeout` for calls that run a model, `short_timeout` for tags, show, version
and ps), retries included: per-read timeouts alone do not bound a server that trickles one byte a second. The head
of a reply is awaited in a helper thread (abandoned at the deadline); the body is read with a watchdog that shuts the
socket down at the deadline. Replies are capped at `max_reply_bytes` (an over-size reply is an error, never
truncated silently). `pull` is the exception: a download takes as long as it takes, so it only has the per-read
timeout (and Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from rag._version import __version__
from rag.errors import (
    NOT_OLLAMA_MESSAGE,
    ConfigError,
    ContextLengthExceeded,
    ModelNotFound,
    OllamaBusy,
    OllamaError,
    OllamaTimeout,
    OllamaUnreachable,
)
from rag.ollama.types import (
    ChatResponse,
    EmbedResponse,
    GenerateResponse,
    Message,
    ModelInfo,
    ModelStats,
    PullProgress,
    RunningModel,
    ShowResponse,
    _chat_response,
    _generate_response,
    _model_info,
    _parse,
    _show_response,
)

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds to open a connection
DEFAULT_READ_TIMEOUT = 300.0  # wall-clock deadline of a chat, generate or embed call (model loads are slow)
DEFAULT_SHORT_TIMEOUT = 10.0  # wall-clock deadline of a tags, show, version or ps call
DEFAULT_MAX_REPLY_BYTES = 2 * 1024 * 1024  # largest reply (or stream) accepted: an answer is ~8 KB; embed adds more
EMBED_BYTES_PER_INPUT = 256 * 1024  # room per input text in an /api/embed reply (a 8192-d vector is ~110 KB of JSON)
MAX_LINE_BYTES = 1024 * 1024  # longest NDJSON line accepted in a stream
DEFAULT_RETRIES = 3  # extra attempts after the first, for the failures that are safe to retry
DEFAULT_BACKOFF = 0.5  # seconds before the first retry; doubles each time
USER_AGENT = f"ollama-rag/{__version__}"

_CONTEXT_WORDING = re.compile(r"context (length|window)|too long|exceeds? (the )?(maximum )?context", re.I)
_T = TypeVar("_T")


def parse_host(value: str | None) -> str:
    """Normalise an OLLAMA_HOST-style address to a base URL, the way Ollama reads OLLAMA_HOST.

    A missing scheme means http and port 11434; `http://` and `https://` without a port mean 80 and 443; a path is
    kept (a proxy prefix), except the API's own `/api`. A bind-all address (0.0.0.0, ::) means this machine, since a
    client cannot connect to it everywhere. Raises ConfigError for a bad port, an /api path or text that is no host.

    >>> parse_host(None)
    'http://127.0.0.1:11434'
    >>> parse_host("example.com")
    'http://example.com:11434'
    >>> parse_host("example.com:56789")
    'http://example.com:56789'
    >>> parse_host("https://example.com")
    'https://example.com:443'
    >>> parse_host("http://example.com/ollama/")
    'http://example.com:80/ollama'
    >>> parse_host(":56789")
    'http://127.0.0.1:56789'
    >>> parse_host("0.0.0.0")
    'http://127.0.0.1:11434'
    >>> parse_host("[::1]:8080")
    'http://[::1]:8080'
    >>> parse_host("::1")
    'http://[::1]:11434'
    >>> parse_host(' "localhost:11435" ')
    'http://localhost:11435'
    """
    original = (value or "").strip()
    text = original.strip("\"'").strip()
    scheme, sep, rest = text.partition("://")
    default_port = DEFAULT_PORT
    if not sep:
        scheme, rest = "http", text
    elif scheme in ("http", "https"):
        default_port = 80 if scheme == "http" else 443
    else:
        raise _bad_host(original, f"unknown scheme {scheme!r} (use http:// or https://)")
    hostport, _, path = rest.partition("/")
    host, port = _split_host_port(hostport)
    if not _HOST_CHARS.fullmatch(host):
        raise _bad_host(
            original, "this is not a host name (use HOST, HOST:PORT or http://HOST:PORT, e.g. 127.0.0.1:11434)"
        )
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        raise _bad_host(original, f"invalid port {port!r} (use a number from 1 to 65535, e.g. 127.0.0.1:11434)")
    port = port or str(default_port)
    if ":" in host:
        host = f"[{host}]"
    path = path.rstrip("/")
    base = f"{scheme}://{host}:{port}"
    segments = path.split("/")
    if "api" in segments:  # a pasted endpoint URL: requests would go to /api/api/...
        kept = "/".join(segments[: segments.index("api")])
        raise _bad_host(original, f"drop the /api path (use {base}{'/' + kept if kept else ''})")
    return base + (f"/{path}" if path else "")


_HOST_CHARS = re.compile(r"[A-Za-z0-9._~%:-]*")


def _bad_host(value: str, reason: str) -> ConfigError:
    return ConfigError(f"Invalid Ollama address {value!r}: {reason}.")


def _split_host_port(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):  # [v6] or [v6]:port
        host, _, tail = hostport[1:].partition("]")
        return host, tail[1:] if tail.startswith(":") else ""
    if hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
        return host, port
    return hostport, ""  # bare name, IPv4, or a bare IPv6 address


# ---- the client -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    """What a call may retry: connect errors and 503 always; the rest only where asked."""

    short: bool = False  # short deadline (tags, show, version, ps)
    retry_500: bool = False
    retry_dropped: bool = False  # connection dropped before any reply: safe to re-send for idempotent calls


_LONG = _Policy()
_EMBED = _Policy(retry_500=True, retry_dropped=True)
_SHORT = _Policy(short=True, retry_dropped=True)


class _Deadline:
    """A wall-clock deadline: `seconds` from now (None: no deadline)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def left(self) -> float | None:
        """Seconds left (never negative), None without a deadline."""
        return None if self.at is None else max(self.at - time.monotonic(), 0.0)

    @property
    def passed(self) -> bool:
        return self.at is not None and time.monotonic() >= self.at


class _DeadlinePassed(Exception):
    """Internal: the deadline passed while waiting (turned into OllamaTimeout by the helpers)."""


def _cut(stream: Any) -> None:
    """Shut down the socket under an httpcore network stream, waking a thread blocked reading it."""
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):  # the base method: an SSLSocket's own shutdown would drop its state
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """Cuts a response's connection when the deadline passes, unless `stop()` came first (then it never touches the
    socket, which may already serve another request)."""

    def __init__(self, response: httpx.Response, deadline: _Deadline) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._stopped = False
        self._stream = response.extensions.get("network_stream")
        left = deadline.left()
        self._timer = None if left is None else threading.Timer(left, self._fire)
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self.fired = True
            _cut(self._stream)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        if self._timer is not None:
            self._timer.cancel()


class _EndpointMissing(OllamaError):
    """A 404 whose body is not Ollama's JSON error: the server is too old for this endpoint."""


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _drop_none(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _lines(
    response: httpx.Response, path: str, cap: int | None, too_large: Callable[[str, int], Exception]
) -> Iterator[str]:
    """The lines of a streamed body, decoded; more than `cap` bytes in all (None: no cap) or a line longer than
    MAX_LINE_BYTES raises `too_large(path, limit)`."""
    pending, size = b"", 0
    for part in response.iter_bytes():
        size += len(part)
        if cap is not None and size > cap:
            raise too_large(path, cap)
        pending += part
        *complete, pending = pending.split(b"\n")
        if len(pending) > MAX_LINE_BYTES:
            raise too_large(path, MAX_LINE_BYTES)
        for line in complete:
            yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


class Client:
    """A connection-pooled Ollama client. Use it as a context manager, or call `close()`.

    Args:
        host: server address in any OLLAMA_HOST form (see `parse_host`); default `$OLLAMA_HOST`, else 127.0.0.1:11434.
        timeout: wall-clock deadline in seconds of one chat, generate or embed call, retries included (also the
            per-read timeout of pull, which has no deadline).
        short_timeout: wall-clock deadline of tags, show, version and ps (at most `timeout`).
        connect_timeout: seconds to open a connection.
        retries: extra attempts after connect errors and 503 (and 500 on embed), while the deadline allows.
        backoff: seconds before the first retry; doubles each retry.
        max_reply_bytes: largest reply (or whole stream) accepted; an /api/embed reply may also have
            EMBED_BYTES_PER_INPUT per input. A larger one raises OllamaError.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        timeout: float = DEFAULT_READ_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        short_timeout: float = DEFAULT_SHORT_TIMEOUT,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> None:
        if retries < 0 or backoff < 0 or min(timeout, short_timeout, connect_timeout) <= 0 or max_reply_bytes < 1:
            raise ValueError("timeouts and max_reply_bytes must be positive, retries and backoff non-negative")
        self.host = parse_host(host if host else os.environ.get("OLLAMA_HOST"))
        self.timeout = timeout
        self.short_timeout = min(short_timeout, timeout)
        self.max_reply_bytes = max_reply_bytes
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.backoff = backoff
        self._legacy_embed = False  # set once /api/embed turned out to be missing (Ollama < 0.3)
        self._http = httpx.Client(
            base_url=self.host,
            headers={"Accept": "application/json", "Content-Type": "application/json", "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __repr__(self) -> str:
        return f"Client({self.host!r})"

    # ---- endpoints ----

    def embed(
        self,
        model: str,
        inputs: Sequence[str],
        *,
        truncate: bool | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        dimensions: int | None = None,
    ) -> EmbedResponse:
        """Embed texts with POST /api/embed (falls back to the legacy /api/embeddings on old servers).

        `truncate=False` makes an over-long input an error instead of silently cutting it.
        Raises: ModelNotFound, ContextLengthExceeded, OllamaUnreachable, OllamaError. Returns one vector per input.
        """
        if isinstance(inputs, str):
            raise TypeError("inputs must be a list of strings, not a str")
        inputs = list(inputs)
        if not inputs:
            return EmbedResponse(model=model)
        if not self._legacy_embed:
            body = {
                "model": model,
                "input": inputs,
                "truncate": truncate,
                "options": options,
                "keep_alive": keep_alive,
                "dimensions": dimensions,
            }
            try:
                data = self._request(
                    "POST",
                    "/api/embed",
                    body,
                    policy=_EMBED,
                    model=model,
                    max_bytes=self.max_reply_bytes + EMBED_BYTES_PER_INPUT * len(inputs),
                )
                return _parse(EmbedResponse, data)
            except _EndpointMissing:
                self._legacy_embed = True
        vectors = []
        for text in inputs:
            body = {"model": model, "prompt": text, "options": options, "keep_alive": keep_alive}
            vectors.append(self._request("POST", "/api/embeddings", body, policy=_EMBED, model=model)["embedding"])
        return EmbedResponse(embeddings=vectors, model=model)

    def chat(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        *,
        format: str | Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        stream: bool = False,
        think: bool | None = None,
    ) -> ChatResponse | Iterator[ChatResponse]:
        """Chat with POST /api/chat. `format` is "json" or a JSON schema the reply must follow.

        With stream=True, returns an iterator of chunks (the last has done=True and the stats); errors before the
        first chunk are raised here, later ones while iterating. Never retried once chunks flow.
        Raises: ModelNotFound, ContextLengthExceeded, OllamaBusy, OllamaUnreachable (OllamaTimeout), OllamaError.
        """
        wire = [m.to_dict() if isinstance(m, Message) else dict(m) for m in messages]
        body = {
            "model": model,
            "messages": [_drop_none(m) for m in wire],
            "format": format,
            "options": options,
            "keep_alive": keep_alive,
            "stream": stream,
            "think": think,
        }
        if stream:
            return map(_chat_response, self._stream("/api/chat", body, model=model))
        return _chat_response(self._request("POST", "/api/chat", body, policy=_LONG, model=model))

    def generate(
        self,
        model: str,
        prompt: str,
        *,
        system: str | None = None,
        format: str | Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        stream: bool = False,
        raw: bool | None = None,
    ) -> GenerateResponse | Iterator[GenerateResponse]:
        """Complete a prompt with POST /api/generate; like `chat` (stream=True gives an iterator of chunks)."""
        body = {
            "model": model,
            "prompt": prompt,
            "system": system,
            "format": format,
            "options": options,
            "keep_alive": keep_alive,
            "stream": stream,
            "raw": raw,
        }
        if stream:
            return map(_generate_response, self._stream("/api/generate", body, model=model))
        return _generate_response(self._request("POST", "/api/generate", body, policy=_LONG, model=model))

    def tags(self) -> list[ModelInfo]:
        """The installed models (GET /api/tags)."""
        return [_model_info(m) for m in self._request("GET", "/api/tags", None, policy=_SHORT).get("models") or []]

    def show(self, model: str) -> ShowResponse:
        """Details of one model (POST /api/show): context and embedding length, capabilities. Raises ModelNotFound."""
        return _show_response(model, self._request("POST", "/api/show", {"model": model}, policy=_SHORT, model=model))

    def version(self) -> str:
        """The server's version string (GET /api/version)."""
        return str(self._request("GET", "/api/version", None, policy=_SHORT).get("version", ""))

    def ps(self) -> list[RunningModel]:
        """The models loaded in memory (GET /api/ps)."""
        models = self._request("GET", "/api/ps", None, policy=_SHORT).get("models") or []
        return [_parse(RunningModel, m) for m in models]

    def pull(self, model: str, *, insecure: bool = False) -> Iterator[PullProgress]:
        """Download a model (POST /api/pull); yields progress lines until status "success". Raises OllamaError."""
        body = {"model": model, "insecure": insecure or None, "stream": True}
        return map(lambda d: _parse(PullProgress, d), self._stream("/api/pull", body, model=None, needs_done=False))

    def probe_version(self, timeout: float = 2.0) -> str | None:
        """The server's version if an Ollama server answers GET /api/version within `timeout` seconds, else None.
        Never raises, never retries."""
        try:
            status, raw = self._fetch("GET", "/api/version", None, _Deadline(timeout), MAX_LINE_BYTES)
            version = json.loads(raw).get("version") if status == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError, OllamaError, _DeadlinePassed):
            return None
        return str(version) if version is not None else None

    def is_reachable(self, timeout: float = 2.0) -> bool:
        """True when an Ollama server answers GET /api/version within `timeout` seconds. Never raises."""
        return self.probe_version(timeout) is not None

    def foreign_server(self, timeout: float = 2.0) -> str | None:
        """When a web server answers at `host` but it is not Ollama, what it sent (e.g. "HTTP 404, text/html");
        None when Ollama answers or nothing does. Ollama answers GET /api/version with JSON, and old ones GET /
        with "Ollama is running". Never raises, never retries."""
        try:
            response = self._http.get("/api/version", timeout=httpx.Timeout(timeout))
            if response.status_code == 200 and isinstance(response.json(), dict) and "version" in response.json():
                return None
        except ValueError:
            pass
        except httpx.HTTPError:
            return None
        try:
            root = self._http.get("/", timeout=httpx.Timeout(timeout))
        except httpx.HTTPError:
            return None
        if "ollama is running" in root.text.lower():
            return None
        kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
        return f"HTTP {response.status_code} for /api/version, {kind}"

    def not_ollama_error(self, status: int | None) -> OllamaError | None:
        """The "something answers but it is not Ollama" error, when that is the case."""
        detail = self.foreign_server()
        if detail is None:
            return None
        return OllamaError(NOT_OLLAMA_MESSAGE.format(url=self.host, detail=detail), status_code=status, error=detail)

    # ---- the two HTTP helpers ----

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        policy: _Policy,
        model: str | None = None,
        max_bytes: int | None = None,
    ) -> dict[str, Any]:
        """Send one request (with safe retries, all within the call's deadline), check the status, return the parsed
        JSON object."""
        deadline = _Deadline(self.short_timeout if policy.short else self.timeout)
        payload = None if body is None else _drop_none(body)
        cap = max_bytes or self.max_reply_bytes

        def send() -> tuple[int, bytes]:
            status, raw = self._fetch(method, path, payload, deadline, cap)
            if status >= 400:
                raise self._status_error(status, raw.decode("utf-8", "replace"), path, model)
            return status, raw

        status, raw = self._with_retries(send, policy, deadline)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            text = raw.decode("utf-8", "replace")
            raise self.not_ollama_error(status) or OllamaError(
                f"Ollama at {self.host} sent a reply for {path} that is not JSON: {text[:200]!r}", status_code=status
            ) from exc
        if not isinstance(data, dict):
            raise OllamaError(f"Ollama sent an unexpected reply for {path}: {data!r:.200}", status_code=status)
        return data

    def _fetch(self, method: str, path: str, payload: Any, deadline: _Deadline, cap: int) -> tuple[int, bytes]:
        """One attempt: the status and the whole body (at most `cap` bytes), before the deadline."""
        response = self._send(self._http.build_request(method, path, json=payload), deadline)
        watchdog = _Watchdog(response, deadline)
        try:
            parts, size = [], 0
            for part in response.iter_bytes():
                size += len(part)
                if size > cap:
                    raise self._too_large(path, cap)
                parts.append(part)
            if watchdog.fired:  # cut at the deadline: a body that merely looks complete is not the reply
                raise _DeadlinePassed
            return response.status_code, b"".join(parts)
        except httpx.TransportError as exc:
            if watchdog.fired:
                raise _DeadlinePassed from exc
            raise
        finally:
            watchdog.stop()
            response.close()

    def _send(self, request: httpx.Request, deadline: _Deadline) -> httpx.Response:
        """Send `request` and return the streaming response once its head arrived, or raise _DeadlinePassed.

        The wait runs in a helper thread so that a server trickling its status line and headers cannot hold the
        caller past the deadline; a reply that arrives after it is closed by that thread. A connection the request
        opened itself is shut down at the deadline, so the thread ends too.
        """
        lock, ready = threading.Lock(), threading.Event()
        box: dict[str, Any] = {}

        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                box["stream"] = info.get("return_value")

        request.extensions = {**request.extensions, "trace": trace}
        limit = deadline.left()
        if limit is not None:
            request.extensions["timeout"] = httpx.Timeout(
                max(limit, 0.001), connect=min(self.connect_timeout, max(limit, 0.001))
            ).as_dict()

        def run() -> None:
            try:
                response = self._http.send(request, stream=True)
            except BaseException as exc:  # handed to the caller
                with lock:
                    box["error"] = exc
            else:
                with lock:
                    if box.get("abandoned"):
                        response.close()
                        return
                    box["response"] = response
            ready.set()

        threading.Thread(target=run, name="rag-ollama-send", daemon=True).start()
        try:
            ready.wait(deadline.left())
        finally:
            with lock:
                if "response" not in box and "error" not in box:
                    box["abandoned"] = True
                    _cut(box.get("stream"))
        if "error" in box:
            raise box["error"]
        if "response" not in box:
            raise _DeadlinePassed
        response: httpx.Response = box["response"]
        return response

    def _too_large(self, path: str, cap: int) -> OllamaError:
        return OllamaError(
            f"Ollama sent more than {cap / 2**20:g} MB for {path}, so the reply was dropped (a model "
            "that does not stop, or not an Ollama server). Lower max_answer_tokens, or check the "
            "server."
        )

    def _stream(
        self, path: str, body: Mapping[str, Any], *, model: str | None, needs_done: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Open an NDJSON stream (retrying only before it starts) and return a generator over its parsed lines.

        The whole stream must end within the call's deadline (`timeout`) and `max_reply_bytes`; pull has neither."""
        deadline = _Deadline(self.timeout if needs_done else None)
        payload = _drop_none(body)

        def open_stream() -> httpx.Response:
            response = self._send(self._http.build_request("POST", path, json=payload), deadline)
            if response.status_code >= 400:
                watchdog = _Watchdog(response, deadline)
                try:  # read before raising, or the message is lost
                    text = response.read()[:MAX_LINE_BYTES].decode("utf-8", "replace")
                except httpx.TransportError as exc:
                    raise (_DeadlinePassed() if watchdog.fired else exc) from exc
                finally:
                    watchdog.stop()
                    response.close()
                raise self._status_error(response.status_code, text, path, model)
            return response

        response = self._with_retries(open_stream, _LONG, deadline)
        return self._iter_lines(response, path, model, needs_done, deadline)

    def _iter_lines(
        self, response: httpx.Response, path: str, model: str | None, needs_done: bool, deadline: _Deadline
    ) -> Iterator[dict[str, Any]]:
        finished = False
        watchdog = _Watchdog(response, deadline)
        cap = self.max_reply_bytes if deadline.seconds is not None else None
        try:
            for line in _lines(response, path, cap, self._too_large):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except ValueError as exc:
                    raise OllamaError(f"Ollama sent a line for {path} that is not JSON: {line[:200]!r}") from exc
                if isinstance(data, dict) and data.get("error") is not None:
                    raise self._status_error(None, line, path, model)
                finished = finished or bool(data.get("done")) or data.get("status") == "success"
                yield data
        except httpx.TimeoutException as exc:
            raise self._timeout(deadline) from exc
        except httpx.TransportError as exc:
            if watchdog.fired:
                raise self._timeout(deadline) from exc
            raise OllamaError(
                f"Ollama closed the {path} stream before it finished ({_describe(exc)}). "
                "Check the server log and retry."
            ) from exc
        finally:
            watchdog.stop()
            response.close()
        if watchdog.fired:
            raise self._timeout(deadline)
        if needs_done and not finished:
            raise OllamaError(
                f"Ollama ended the {path} stream without a final done=true line. Check the server log and retry."
            )

    def _timeout(self, deadline: _Deadline) -> OllamaTimeout:
        return OllamaTimeout(self.host, timeout=deadline.seconds or self.timeout)

    def _with_retries(self, attempt: Callable[[], _T], policy: _Policy, deadline: _Deadline) -> _T:
        """Call `attempt`, retrying connect errors and 503 (plus 500 or dropped connections when the policy allows)
        while the deadline leaves time; a passed deadline is final."""
        timeout = deadline.seconds or self.timeout
        error: OllamaError
        cause: BaseException | None
        for tries_left in range(self.retries, -1, -1):
            try:
                return attempt()
            except _DeadlinePassed as exc:
                raise OllamaTimeout(self.host, timeout=timeout) from exc
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error, cause, retry = OllamaUnreachable(self.host, reason=_describe(exc)), exc, True
            except httpx.TimeoutException as exc:
                raise OllamaTimeout(self.host, timeout=timeout) from exc
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:  # dropped before a reply (server died)
                error, cause, retry = OllamaUnreachable(self.host, reason=_describe(exc)), exc, policy.retry_dropped
            except httpx.TransportError as exc:  # TLS and other protocol errors
                error, cause, retry = OllamaUnreachable(self.host, reason=_describe(exc)), exc, False
            except OllamaError as exc:
                error, cause = exc, exc.__cause__
                retry = isinstance(exc, OllamaBusy) or (
                    policy.retry_500 and exc.status_code == 500 and not isinstance(exc, ContextLengthExceeded)
                )
            pause = self.backoff * 2 ** (self.retries - tries_left)
            left = deadline.left()
            if not retry or tries_left == 0 or (left is not None and left <= pause):
                raise error from cause
            time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _status_error(self, status: int | None, text: str, path: str, model: str | None) -> OllamaError:
        """The error for an error status (or an error line in a stream, status None)."""
        try:
            data = json.loads(text)
            error = str(data["error"]) if isinstance(data, dict) and "error" in data else None
        except ValueError:
            error = None
        is_json = error is not None
        error = error if error is not None else (text.strip()[:500] or f"HTTP {status}")
        if _CONTEXT_WORDING.search(error):
            return ContextLengthExceeded(
                f"The input is longer than the context of model {model!r} ({error}). Split it into smaller pieces, "
                "or let Ollama truncate it.",
                status_code=status,
                error=error,
            )
        if is_json and model and (status == 404 or re.search(r"model .*not found", error)) and "not found" in error:
            return ModelNotFound(model, status_code=status, error=error)
        if status is not None and not is_json and (foreign := self.not_ollama_error(status)) is not None:
            return foreign
        if status == 404 and not is_json:
            return _EndpointMissing(
                f"Ollama at {self.host} has no {path} endpoint ({error}). Upgrade Ollama.", status_code=404, error=error
            )
        if status == 503:
            return OllamaBusy(
                f"Ollama at {self.host} is busy ({error}). Wait and retry, or raise OLLAMA_MAX_QUEUE "
                "or OLLAMA_NUM_PARALLEL on the server.",
                status_code=503,
                error=error,
            )
        where = f"HTTP {status}" if status else "an error mid-stream"
        return OllamaError(f"Ollama answered {path} with {where}: {error}", status_code=status, error=error)


__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HOST",
    "DEFAULT_MAX_REPLY_BYTES",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_SHORT_TIMEOUT",
    "ChatResponse",
    "Client",
    "EmbedResponse",
    "GenerateResponse",
    "Message",
    "ModelInfo",
    "ModelStats",
    "PullProgress",
    "RunningModel",
    "ShowResponse",
    "parse_host",
]
