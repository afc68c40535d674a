"""a collection name is checked before anything is written, so `../../x` writes nothing anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import StoreError
from rag.store.layout import catalog_names, layout, valid_name


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


@pytest.mark.parametrize("name", ["../../x", "../escape", "a/b", "ab", "-dash", "a..b", "x" * 600, "1.2.3.4", ""])
def test_an_invalid_name_is_refused_before_any_write(tmp_path, ollama, name: str) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nLlamas live in the Andes and eat grass all day long.\n")
    before = _files(tmp_path)
    result = CliRunner().invoke(
        cli, ["index", str(tmp_path / "docs"), "--index", str(tmp_path / "deep" / "er" / "idx"), "--collection", name]
    )
    assert result.exit_code == 2
    assert "Collection name" in result.output and "Traceback" not in result.output
    assert _files(tmp_path) == before  # no catalog, lock or Chroma folder: not inside the index folder, not outside


def test_status_does_not_list_a_stray_file_with_an_invalid_name(tmp_path, ollama) -> None:
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "..catalog.sqlite").write_bytes(b"")
    (tmp_path / "idx" / "a b.catalog.sqlite").write_bytes(b"")
    assert catalog_names(tmp_path / "idx") == []
    result = CliRunner().invoke(cli, ["status", "--index", str(tmp_path / "idx"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["collections"] == []


def test_valid_names_pass_and_the_layout_rejects_the_rest(tmp_path) -> None:
    assert all(valid_name(n) for n in ("default", "team", "work-notes_v2.1"))
    assert layout(tmp_path, None, "team").catalog == tmp_path / "team.catalog.sqlite"
    with pytest.raises(StoreError, match="not valid"):
        layout(tmp_path, None, "../../x")
