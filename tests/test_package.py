"""Package-level checks: public names, dependency direction, CLI entry point."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import rag
from support.paths import REPO


def test_all_is_sorted_and_resolvable() -> None:
    assert rag.__all__ == sorted(rag.__all__)
    assert set(rag.__all__) == {*rag._EXPORTS, "__version__"}
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


def test_wheel_holds_every_package_and_the_prompts(tmp_path: Path) -> None:
    """A non-editable install must import rag and ingest and read the prompts (the packages list once missed a
    subpackage: only an editable install hid it)."""
    import shutil
    import zipfile

    # Build from a pristine copy: a stale *.egg-info (left by `pip install -e .`) can smuggle files into the wheel.
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("rag", "ingest", "prompts"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = tmp_path.glob("ollama_rag-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    expected = {
        p.parent.relative_to(REPO).as_posix()
        for top in ("rag", "ingest", "prompts")
        for p in (REPO / top).rglob("__init__.py")
    }
    assert expected <= {p.parent.relative_to(site).as_posix() for p in site.rglob("__init__.py")}
    code = (
        "import rag, ingest, ingest.loaders; from rag.answer.prompts import load_template, answer_schema; "
        f"assert rag.__file__.startswith({str(site)!r}) and ingest.loaders.__file__.startswith({str(site)!r}); "
        "assert load_template('system.txt').strip(); "
        "print(sorted(answer_schema(['S1'], None)['properties']))"
    )
    out = subprocess.run(
        check=False,
        args=[sys.executable, "-c", code],
        cwd=site,
        env={"PYTHONPATH": str(site), "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "citations" in out.stdout
