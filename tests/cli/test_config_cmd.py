"""The config file and `rag config`: precedence flag > env > config > default, validation with a clear error."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.config import Settings, config_path, default_index_dir
from rag.errors import ConfigError
from support.hits import index_docs


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_config_path_is_in_the_user_dir(_isolated_env) -> None:
    result = _run("config", "path")
    assert result.exit_code == 0 and result.stdout.strip() == str(_isolated_env / "config.toml")


def test_set_writes_typed_toml_and_resolve_reads_it() -> None:
    assert _run("config", "set", "top_k", "9").exit_code == 0
    assert _run("config", "set", "strict", "true").exit_code == 0
    assert _run("config", "set", "embed_backend", "builtin").exit_code == 0
    text = config_path().read_text(encoding="utf-8")
    assert "top_k = 9\n" in text and "strict = true\n" in text and 'embed_backend = "builtin"\n' in text
    settings = Settings.resolve()
    assert (settings.top_k, settings.strict, settings.embed_backend) == (9, True, "builtin")


def test_precedence_flag_over_env_over_config_over_default(monkeypatch) -> None:
    assert Settings.resolve().top_k == 6  # default
    _run("config", "set", "top_k", "7")
    assert Settings.resolve().top_k == 7  # config
    monkeypatch.setenv("RAG_TOP_K", "8")
    assert Settings.resolve().top_k == 8  # env
    assert Settings.resolve(top_k=9).top_k == 9  # flag / argument


def test_embed_backend_from_env_and_flag_on_ask(tmp_path, ollama, monkeypatch) -> None:
    index = index_docs(tmp_path)
    monkeypatch.setenv("RAG_EMBED_BACKEND", "builtin")
    assert Settings.resolve().embed_backend == "builtin"
    ollama.reset()
    result = _run("ask", "embed endpoint", "--index", index, "--embed-backend", "ollama", "--json")
    assert result.exit_code == 0, result.output
    assert ollama.count("/api/embed") == 1  # the flag beat the env var: the query went through Ollama


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("top_k", "many"), "Error: rag config set: top_k must be a whole number, not 'many'.\n"),
        (
            ("embed_backend", "gpu"),
            "Error: rag config set: embed_backend must be one of auto, ollama, builtin, not 'gpu'.\n",
        ),
        (("top_kk", "3"), "Error: rag config set: unknown setting 'top_kk'. Did you mean top_k?\n"),
        (("top_k", "0"), "Error: rag config set: top_k must be from 1 to 100, not '0'.\n"),
        (("chunk_overlap", "-5"), "Error: rag config set: chunk_overlap must be at least 0, not '-5'.\n"),
    ],
)
def test_set_validates_with_a_clear_error(args, message) -> None:
    result = _run("config", "set", *args)
    assert result.exit_code == 2 and result.stderr == message
    assert not config_path().exists()


def test_a_bad_config_file_names_the_file_and_key(monkeypatch) -> None:
    path = config_path()
    path.write_text('min_score = "high"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Settings.resolve()
    assert str(info.value) == f"config file {path}: min_score must be a number, not 'high'."
    path.write_text("top_k = [\n", encoding="utf-8")
    result = _run("status")
    assert result.exit_code == 2 and f"The config file {path} is not valid TOML" in result.stderr


def test_a_bad_env_var_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv("RAG_TEMPERATURE", "warm")
    result = _run("status")
    assert result.exit_code == 2
    assert result.stderr == "Error: environment variable RAG_TEMPERATURE: temperature must be a number, not 'warm'.\n"


def test_show_lists_every_field_with_source_and_doc(monkeypatch) -> None:
    _run("config", "set", "chunk_tokens", "150")
    monkeypatch.setenv("RAG_TOP_K", "4")
    rows = {r["key"]: r for r in json.loads(_run("config", "show", "--json").stdout)}
    assert set(rows) == {f for f in Settings.__dataclass_fields__}
    assert rows["chunk_tokens"]["value"] == 150 and rows["chunk_tokens"]["source"] == "config"
    assert rows["top_k"]["value"] == 4 and rows["top_k"]["source"] == "env" and rows["top_k"]["env"] == "RAG_TOP_K"
    assert rows["seed"]["source"] == "default" and rows["seed"]["doc"].startswith("Sampling seed")
    text = _run("config", "show").stdout
    assert "chunk_tokens = 150    # config; env RAG_CHUNK_TOKENS\n" in text


def test_unset_returns_to_the_default() -> None:
    _run("config", "set", "top_k", "3")
    assert _run("config", "unset", "top_k").exit_code == 0
    assert Settings.resolve().top_k == 6


@pytest.mark.skipif(sys.platform != "linux", reason="XDG paths are the Linux layout")
def test_index_lives_in_the_platform_data_dir_unless_an_old_one_exists(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("RAG_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_index_dir() == tmp_path / "data" / "ollama-rag" / "index"
    old = tmp_path / "config" / "ollama-rag" / "index"
    old.mkdir(parents=True)
    assert default_index_dir() == old  # an index made by an earlier version keeps working
