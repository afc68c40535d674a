"""Package-level checks: public names, dependency direction, CLI entry point."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import rag

REPO = Path(__file__).resolve().parent.parent


def test_all_is_sorted_and_resolvable() -> None:
    assert rag.__all__ == sorted(rag.__all__)
    for name in rag.__all__:
        assert getattr(rag, name) is not None, name


def test_ingest_never_imports_rag_or_network_or_store() -> None:
    forbidden = {"rag", "httpx", "chromadb", "requests"}
    offenders = []
    for path in (REPO / "ingest").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert offenders == []


def test_python_dash_m_rag_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "rag", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("index", "ask", "chat", "status", "eval", "doctor", "models", "pull", "remove"):
        assert f"  {command}" in out
