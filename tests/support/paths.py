"""Where things are: the repository, ../shared/eval, and free ports on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The project root."""
SHARED_EVAL = REPO.parent / "shared" / "eval"
"""The shared evaluation data (may be absent)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
