"""`rag models` and `rag pull` against the fake Ollama's /api/tags and /api/pull stream."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.cli.models import human_size
from rag.cli.pull import PullState, pull_model
from rag.errors import OllamaUnreachable, RagError
from rag.ollama import Client


def test_models_table_lists_installed_models_with_human_sizes(ollama) -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["NAME", "SIZE", "FAMILY", "PARAMS", "QUANT", "MODIFIED"]
    names = [row.split()[0] for row in rows]
    assert names == sorted(names) and "llama3.2:latest" in names and len(rows) == len(ollama.models)
    llama = next(row for row in rows if row.startswith("llama3.2:latest"))
    assert "2.0 GB" in llama and "llama" in llama and "3.2B" in llama and "Q4_K_M" in llama


def test_models_json_is_the_tags_list(ollama) -> None:
    ollama.missing_models = {"bge-m3"}
    result = CliRunner().invoke(cli, ["models", "--json"])
    data = json.loads(result.output)
    assert result.exit_code == 0
    assert {m["name"] for m in data} == {"all-minilm:latest", "nomic-embed-text:latest", "llama3.2:latest"}
    minilm = next(m for m in data if m["name"].startswith("all-minilm"))
    assert minilm["size"] == 45_960_996 and minilm["size_human"] == "46 MB" and minilm["family"] == "bert"


def test_models_with_no_models_prints_empty_json_list(ollama) -> None:
    ollama.missing_models = set(ollama.models)
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_models_when_ollama_is_down_says_how_to_start_it() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 2
    assert "ollama serve" in result.output


def test_human_size_units() -> None:
    assert [human_size(n) for n in (0, 1_500, 12_345_678, 2_019_393_189, 7_365_960_935_000)] == [
        "0 B",
        "1.5 KB",
        "12 MB",
        "2.0 GB",
        "7.4 TB",
    ]


def test_pull_state_aggregates_the_stream(ollama) -> None:
    ollama.missing_models = {"bge-m3"}
    seen: list[tuple[str, bool]] = []
    with Client(ollama.url) as client:
        state = pull_model(client, "bge-m3", lambda event, st, new: seen.append((event.status, new)))
    size = ollama.registry["bge-m3:latest"]["size"]
    assert state.success and state.total == size and state.completed == size
    assert len(state.layers) == 1
    assert state.statuses == [
        "pulling manifest",
        f"pulling {ollama.registry['bge-m3:latest']['digest'][:12]}",
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    assert sum(new for _, new in seen) == len(state.statuses) < len(seen)  # repeated layer lines are not new
    assert ollama.bodies("/api/pull")[-1]["model"] == "bge-m3"


def test_pull_state_keeps_the_highest_completed_per_layer() -> None:
    from rag.ollama import PullProgress

    state = PullState()
    for done in (0, 50, 30, 100):
        state.feed(PullProgress(status="pulling a", digest="sha256:a", total=100, completed=done))
    state.feed(PullProgress(status="pulling b", digest="sha256:b", total=10))
    assert state.layers == {"sha256:a": (100, 100), "sha256:b": (0, 10)}
    assert (state.completed, state.total, state.success) == (100, 110, False)


def test_pull_cli_prints_status_lines_and_installs_the_model(ollama) -> None:
    ollama.missing_models = {"llama3.2"}
    result = CliRunner().invoke(cli, ["pull", "llama3.2"])
    assert result.exit_code == 0, result.output
    assert "pulling manifest" in result.stderr and "success" in result.stderr
    assert result.stderr.count("verifying sha256 digest") == 1
    assert result.stdout.strip() == "Pulled llama3.2 (2.0 GB)."
    listed = CliRunner().invoke(cli, ["models", "--json"])
    assert "llama3.2:latest" in {m["name"] for m in json.loads(listed.output)}


def test_pull_json_emits_ndjson_progress(ollama) -> None:
    result = CliRunner().invoke(cli, ["pull", "--json", "nomic-embed-text"])
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["status"] == "pulling manifest" and events[-1]["status"] == "success"
    layer = [e for e in events if e["digest"]]
    assert [e["completed"] for e in layer] == sorted(e["completed"] for e in layer)
    assert layer[-1]["completed"] == layer[-1]["total"] == 274_302_450


def test_pull_unknown_model_is_a_clear_error(ollama) -> None:
    result = CliRunner().invoke(cli, ["pull", "no-such-model"])
    assert result.exit_code == 2
    assert "Cannot pull 'no-such-model'" in result.stderr and "ollama.com/library" in result.stderr
    assert "Traceback" not in result.output


def test_pull_unknown_model_json_ends_with_an_error_line(ollama) -> None:
    result = CliRunner().invoke(cli, ["pull", "--json", "no-such-model"])
    last = json.loads(result.stdout.splitlines()[-1])
    assert result.exit_code == 2 and last["error"] == "RagError" and "no-such-model" in last["message"]


def test_pull_library_errors(ollama) -> None:
    with Client(ollama.url) as client, pytest.raises(RagError, match="file does not exist"):
        pull_model(client, "no-such-model", lambda *a: None)
    ollama.stop()
    with Client(ollama.url) as client, pytest.raises(OllamaUnreachable, match="ollama serve"):
        pull_model(client, "llama3.2", lambda *a: None)
