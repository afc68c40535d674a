"""Prompt templates and the answer schema: shipped in `prompts/`, each file overridable from a user folder.

The user message (`user.txt`) puts the question after the sources, for every language: with the question first a
small model declines answerable questions it reads right otherwise (BENCHMARKS.md "## QA").

Templates use `string.Template` placeholders (`$question`, `$context`, `$ids`, `$history`), so braces in prompt text
(JSON examples) need no escaping.
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Sequence
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

SYSTEM = "system.txt"
USER = "user.txt"
CONDENSE = "condense.txt"
ANSWER_SCHEMA = "answer.schema.json"
CHECK = "check.txt"
SPAN = "span.txt"
TEMPLATE_NAMES = (SYSTEM, USER, CONDENSE, ANSWER_SCHEMA, CHECK, SPAN)


@cache
def _shipped(name: str) -> str:
    return resources.files("prompts").joinpath(name).read_text(encoding="utf-8")


def load_template(name: str, prompts_dir: str | Path | None = None) -> str:
    """The text of prompt file `name`: from `prompts_dir` when that folder has it, else the shipped one."""
    if name not in TEMPLATE_NAMES:
        raise ValueError(f"unknown prompt file {name!r}; expected one of {TEMPLATE_NAMES}")
    if prompts_dir is not None:
        override = Path(prompts_dir) / name
        if override.is_file():
            return override.read_text(encoding="utf-8")
    return _shipped(name)


def render(name: str, prompts_dir: str | Path | None = None, **values: str) -> str:
    """Template `name` with `$placeholders` filled from `values` (unknown placeholders are left as they are)."""
    return string.Template(load_template(name, prompts_dir)).safe_substitute(values).strip()


def answer_schema(source_ids: Sequence[str], prompts_dir: str | Path | None = None) -> dict[str, Any]:
    """The answer JSON schema for one question: citation ids restricted (`enum`) to exactly `source_ids`."""
    if not source_ids:
        raise ValueError("an answer schema needs at least one source id")
    schema = copy.deepcopy(_parse_schema(load_template(ANSWER_SCHEMA, prompts_dir)))
    try:
        id_schema = schema["properties"]["citations"]["items"]["properties"]["id"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{ANSWER_SCHEMA} must define properties.citations.items.properties.id") from exc
    id_schema["type"] = "string"
    id_schema["enum"] = list(dict.fromkeys(source_ids))
    return schema


@lru_cache(maxsize=8)
def _parse_schema(text: str) -> dict[str, Any]:
    return json.loads(text)


__all__ = [
    "ANSWER_SCHEMA",
    "CHECK",
    "SPAN",
    "CONDENSE",
    "SYSTEM",
    "TEMPLATE_NAMES",
    "USER",
    "answer_schema",
    "load_template",
    "render",
]
