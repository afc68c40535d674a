"""ASGI middleware in front of every face: the bearer token and the request size limit."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PUBLIC_PATHS = ("/", "/favicon.ico")
PUBLIC_PREFIXES = ("/static/",)
"""The web page and its files need no token (they hold no data; the page sends the token the user types)."""
TOKEN_MESSAGE = "This server needs a bearer token: send `Authorization: Bearer TOKEN` (the --token given to rag serve)."
TOO_LARGE_MESSAGE = "Request body over {limit} bytes: send less, or start rag serve with a larger --max-body."


async def _reply(send: Send, status: int, body: dict[str, Any], headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _error(kind: str, message: str, path: str, status: int) -> dict[str, Any]:
    if path.startswith("/api/"):
        return {"error": message}
    if path.startswith(("/v1/chat/", "/v1/models")):
        return {"error": {"message": message, "type": kind, "code": status, "param": None}}
    return {"error": kind, "message": message, "exit_code": 2}


_NOT_JSON = (b"", b"application/x-www-form-urlencoded")
"""Content types treated as JSON: every body here is JSON, and `curl -d` (like Ollama's own examples) sends these."""


def _as_json(scope: Scope) -> Scope:
    kept = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-type"]
    return dict(scope, headers=[*kept, (b"content-type", b"application/json")])


class Guard:
    """Refuse requests without the bearer token (when one is set) with 401, and bodies over `max_body` with 413."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app, self.token, self.max_body = app, token, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if self.token and not self._public(path) and not self._authorized(headers.get(b"authorization", b"")):
            await _reply(
                send, 401, _error("Unauthorized", TOKEN_MESSAGE, path, 401), ((b"www-authenticate", b"Bearer"),)
            )
            return
        too_large = _error("RequestTooLarge", TOO_LARGE_MESSAGE.format(limit=self.max_body), path, 413)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _reply(send, 413, too_large)
            return
        if scope.get("method") == "POST" and headers.get(b"content-type", b"").split(b";")[0] in _NOT_JSON:
            scope = _as_json(scope)
        received = 0
        started = refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:  # a body without Content-Length, counted as it arrives
                    if not started and not refused:
                        refused = True
                        await _reply(send, 413, too_large)
                    return {"type": "http.disconnect"}  # the app stops reading; what it sends is dropped
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    @staticmethod
    def _public(path: str) -> bool:
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

    def _authorized(self, header: bytes) -> bool:
        scheme, _, value = header.decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), (self.token or "").encode())


__all__ = ["PUBLIC_PATHS", "TOKEN_MESSAGE", "TOO_LARGE_MESSAGE", "Guard"]
