"""Write the module tables of docs/ARCHITECTURE.md from the tree: one table per package, each module's docstring
summary and its public names (`__all__`). `--check` exits 1 when the file is out of date (the tests run it).

    python scripts/architecture.py          # rewrite the generated part
    python scripts/architecture.py --check  # fail if it differs
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ARCHITECTURE.md"
BEGIN = "<!-- BEGIN GENERATED: scripts/architecture.py -->"
END = "<!-- END GENERATED -->"
PACKAGES = (
    "ingest",
    "ingest/loaders",
    "rag",
    "rag/ollama",
    "rag/embed",
    "rag/store",
    "rag/index",
    "rag/retrieve",
    "rag/answer",
    "rag/eval",
    "rag/cli",
    "rag/server",
)


def _summary(tree: ast.Module) -> str:
    doc = ast.get_docstring(tree) or ""
    first = doc.strip().split("\n\n", 1)[0]
    return " ".join(first.split()).replace("|", "\\|")


def _public(tree: ast.Module) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call) and value.args:  # __all__ = sorted([...])
                value = value.args[0]
            if isinstance(value, (ast.List, ast.Tuple)):
                return [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return [
        n.name
        for n in tree.body  # no __all__: the top-level classes and functions without an underscore
        if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and not n.name.startswith("_")
    ]


def _table(package: str) -> str:
    folder = REPO / package
    rows = [f"### `{package.replace('/', '.')}`", "", "| module | what it owns | public names |", "|---|---|---|"]
    for path in sorted(folder.glob("*.py"), key=lambda p: (p.name != "__init__.py", p.name)):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _public(tree)
        shown = ", ".join(f"`{n}`" for n in names[:14]) + (f", ... ({len(names)})" if len(names) > 14 else "")
        rows.append(f"| `{path.name}` | {_summary(tree)} | {shown} |")
    return "\n".join(rows)


def generated() -> str:
    """The generated block, markers included."""
    return "\n".join([BEGIN, "", *("\n\n".join(_table(p) for p in PACKAGES).split("\n")), "", END])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/ARCHITECTURE.md is out of date")
    args = parser.parse_args()
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + generated() + text[end:]
    if args.check:
        if new != text:
            print("docs/ARCHITECTURE.md is out of date: run `python scripts/architecture.py`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
