"""The README's Configuration table is generated from the Settings docs and kept up to date."""

from __future__ import annotations

import subprocess
import sys

from support.paths import REPO


def test_readme_settings_table_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "config_docs.py"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_readme_quickstart_uses_its_own_collection_and_says_how_to_drop_it() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert "rag index sample_docs --collection tour" in quickstart
    assert "rag remove sample_docs --collection tour" in quickstart
    assert "rag index sample_docs\n" not in quickstart
