"""Run the app with uvicorn, after the safety checks: loopback by default, a token required elsewhere."""

from __future__ import annotations

import ipaddress
import socket

from rag.api import RAG

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321
SERVE_EXTRA_MISSING = "rag serve needs the [serve] extra: pip install 'ollama-rag[serve]' (FastAPI and uvicorn)."
NEEDS_TOKEN = (
    "Refusing to serve on {host} without a token: anyone on the network could read your documents. "
    "Pass --token SECRET (or set RAG_SERVE_TOKEN), or bind 127.0.0.1."
)


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_bind(host: str, token: str | None) -> None:
    """Raise ValueError (with the fix) for a non-loopback bind without a token."""
    if not token and not is_loopback(host):
        raise ValueError(NEEDS_TOKEN.format(host=host))


def serve(
    rag: RAG,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    token: str | None = None,
    max_body: int | None = None,
    log_level: str = "info",
) -> None:
    """Serve `rag` until interrupted (Ctrl-C). Raises ValueError for a non-loopback `host` without `token`."""
    check_bind(host, token)
    import uvicorn

    from rag.server.app import DEFAULT_MAX_BODY_BYTES, create_app

    app = create_app(rag, token=token, max_body=max_body or DEFAULT_MAX_BODY_BYTES)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "NEEDS_TOKEN", "SERVE_EXTRA_MISSING", "check_bind", "is_loopback", "serve"]
