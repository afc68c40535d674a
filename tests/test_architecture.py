"""The house plan, checked: imports point one way (cli -> api -> answer/retrieve/index/eval -> store/embed/ollama ->
ingest), no sub-package imports another in a cycle, and every module imports on its own in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from support.paths import REPO

LAYERS: dict[str, int] = {
    "ingest": 0,
    "rag._result": 1,
    "rag._version": 1,
    "rag.errors": 1,
    "rag.config": 1,
    "rag.vocab": 1,
    "rag.user_config": 1,
    "rag.ollama": 2,
    "rag.embed": 2,
    "rag.store": 2,
    "rag.retrieve": 3,
    "rag.index": 3,
    "rag.answer": 3,
    "rag.eval": 3,
    "rag.doctor": 3,
    "rag.api": 4,
    "rag.aio": 4,
    "rag.cli": 5,
    "rag.__main__": 5,
    "rag.server": 5,
    "rag": 6,  # rag/__init__.py: lazy re-exports of the public names
}
"""Each unit's layer: a module may import its own layer (without cycles) or lower ones, never higher."""


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("rag", "ingest"):
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _unit(module: str) -> str:
    """The layer unit a module belongs to: its sub-package (rag.store) or top module (rag.api, ingest)."""
    if module.startswith("ingest"):
        return "ingest"
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else "rag"


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """Every rag/ingest module `path` imports, at any depth (function-level and TYPE_CHECKING imports included).

    `from pkg import sub` counts as importing `pkg.sub` when that is a module, else as importing `pkg`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names} & modules
            out |= subs
            if len(subs) < len(node.names):
                out.add(base)
    return {m for m in out if m.split(".")[0] in ("rag", "ingest")}


def _edges() -> dict[str, set[str]]:
    modules = _modules()
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {m for m in _imports(path, name, set(modules)) if m in modules and m != name}
    return edges


def test_every_module_has_a_layer() -> None:
    assert {_unit(m) for m in _modules()} <= set(LAYERS)


def test_imports_never_point_up_a_layer() -> None:
    wrong = sorted(
        f"{src} imports {dst}"
        for src, targets in _edges().items()
        for dst in targets
        if src != "rag" and LAYERS[_unit(dst)] > LAYERS[_unit(src)]
    )
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_ingest_never_imports_rag_httpx_or_chromadb() -> None:
    for name, path in _modules().items():
        if name.startswith("ingest"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
            assert not names & {"rag", "httpx", "chromadb"}, name


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in `graph` as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_cycle_between_sub_packages() -> None:
    units: dict[str, set[str]] = {}
    for src, targets in _edges().items():
        if src == "rag":
            continue
        units.setdefault(_unit(src), set()).update(_unit(t) for t in targets if _unit(t) != _unit(src))
    assert _cycle(units) is None, f"import cycle between sub-packages: {' -> '.join(_cycle(units) or [])}"


def test_no_cycle_between_modules() -> None:
    edges = {src: {t for t in targets if t != "rag"} for src, targets in _edges().items() if src != "rag"}
    # a package's __init__ re-exporting its own modules is not a cycle; a module importing its package's
    # __init__ back while that __init__ imports it is
    assert _cycle(edges) is None, f"import cycle: {' -> '.join(_cycle(edges) or [])}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("module", sorted(m for m in _modules() if m != "rag.__main__"))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_architecture_doc_lists_the_modules_as_they_are() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "architecture.py"), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_file_types_vocabulary_matches_what_ingest_reads() -> None:
    from ingest.discover import KINDS_BY_SUFFIX
    from rag.vocab import FILE_TYPES

    assert set(FILE_TYPES) == set(KINDS_BY_SUFFIX.values())
