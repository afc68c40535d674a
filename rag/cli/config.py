"""`rag config path|show|set|unset`: the TOML config file in the user dir (precedence: flag > env > file > default)."""

from __future__ import annotations

import os
from typing import Any

import click

from rag.cli._common import json_option, print_json, run_guarded
from rag.cli._output import echo


@click.group(name="config")
def config_cmd() -> None:
    """Read and write the config file. Every setting can also be given by an environment variable (RAG_<KEY>);
    command-line flags win over both.

    \b
    Example:
        rag config set chat_model qwen2.5-coder:1.5b
        rag config show
    """


@config_cmd.command(name="path")
def path_cmd() -> None:
    """Print where the config file is (it may not exist yet)."""
    from rag.config import config_path

    run_guarded(False, lambda: echo(str(config_path())))


@config_cmd.command(name="show")
@json_option
def show_cmd(json_: bool) -> None:
    """Every setting: its value, where the value comes from (flag/env/config/default) and its doc."""

    def action() -> int:
        from rag.config import Settings, env_name, env_settings, field_docs, field_types, load_config_file

        from_file, from_env = load_config_file(), env_settings()
        resolved = Settings.resolve()
        docs = field_docs()
        rows = []
        for name in field_types():
            value = getattr(resolved, name)
            source = "env" if name in from_env else "config" if name in from_file else "default"
            if name == "ollama_host" and os.environ.get("OLLAMA_HOST"):
                value, source = os.environ["OLLAMA_HOST"], "env"
            if name == "pdf_password" and value:
                value = "***"
            shown = value if value is None or isinstance(value, (bool, int, float)) else str(value)
            rows.append(
                {"key": name, "value": shown, "source": source, "env": env_name(name), "doc": docs.get(name, "")}
            )
        if json_:
            print_json(rows)
            return 0
        for row in rows:
            shown = "(unset)" if row["value"] is None else _toml_value(row["value"])
            echo(f"{row['key']} = {shown}    # {row['source']}; env {row['env']}")
            echo(f"    {row['doc']}")
        return 0

    run_guarded(json_, action)


@config_cmd.command(name="set", context_settings={"ignore_unknown_options": True})
@click.argument("key")
@click.argument("value")
def set_cmd(key: str, value: str) -> None:
    """Set KEY to VALUE in the config file (checked against the setting's type first).

    \b
    Example:
        rag config set top_k 8
    """

    def action() -> int:
        from rag.config import coerce, config_path

        path = config_path()
        typed = coerce(key, value, "rag config set")
        table = _read(path)
        if typed is None:
            table.pop(key, None)
        else:
            table[key] = str(typed) if not isinstance(typed, (bool, int, float, str)) else typed
        _write(path, table)
        echo(f"{key} = {_toml_value(table.get(key))} in {path}" if typed is not None else f"{key} unset in {path}")
        return 0

    run_guarded(False, action)


@config_cmd.command(name="unset")
@click.argument("key")
def unset_cmd(key: str) -> None:
    """Remove KEY from the config file (its default applies again)."""

    def action() -> int:
        from rag.config import config_path, field_types
        from rag.errors import ConfigError

        path = config_path()
        if key not in field_types():
            raise ConfigError(f"rag config unset: unknown setting {key!r}. See `rag config show` for the keys.")
        table = _read(path)
        table.pop(key, None)
        _write(path, table)
        echo(f"{key} unset in {path}")
        return 0

    run_guarded(False, action)


def _read(path: Any) -> dict[str, Any]:
    from rag.config import load_config_file
    from rag.user_config import load

    load_config_file(path)  # refuse to rewrite a file with invalid entries: the error names them
    return dict(load(path))


def _write(path: Any, table: dict[str, Any]) -> None:
    from rag.user_config import save

    save(path, dict(sorted(table.items())), header="ollama-rag settings; `rag config show` lists every key.")


def _toml_value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["config_cmd"]
