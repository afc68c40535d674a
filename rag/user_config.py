"""The TOML config file: read with tomllib (tomli before Python 3.11), written with tomli-w.

The file holds top-level `key = value` lines, one per `Settings` field; `rag config set KEY VALUE` writes it.
Validation against the fields lives in `rag.config`; this module only reads and writes the table.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def load(path: Path) -> dict[str, Any]:
    """The table in the TOML file at `path` ({} when it does not exist). Raises ConfigError on bad TOML."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror or exc}.") from exc
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The config file {path} is not valid TOML ({exc}). Fix it, or delete it to start "
            "again with `rag config set KEY VALUE`."
        ) from exc


def save(path: Path, table: dict[str, Any], header: str = "") -> None:
    """Write `table` to `path` atomically (a temp file renamed over it), with `header` as leading comments."""
    import tomli_w

    text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + tomli_w.dumps(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["load", "save"]
