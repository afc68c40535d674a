"""Base for typed results: frozen dataclasses with one `to_dict()` shape for library, CLI and tests."""

from __future__ import annotations

import dataclasses
import enum
import math
from pathlib import PurePath
from typing import Any


def _plain(value: Any) -> Any:
    """JSON-ready data; a NaN or infinite float becomes None, so `--json` is always valid JSON.

    >>> _plain({"score": float("nan"), "best": [1.5, float("inf")]})
    {'score': None, 'best': [1.5, None]}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if not f.name.startswith("_")}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


class Result:
    """Mixin for result dataclasses: `to_dict()` gives JSON-ready plain data (what `--json` prints)."""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)
