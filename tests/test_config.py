"""Settings: every field documented where it is declared."""

from __future__ import annotations

import ast
import dataclasses

from rag.config import Settings
from support.paths import REPO


def test_every_settings_field_has_a_docstring() -> None:
    tree = ast.parse((REPO / "rag" / "config.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    documented = set()
    for field, after in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(field, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            documented.add(field.target.id)  # type: ignore[union-attr]
    missing = {f.name for f in dataclasses.fields(Settings)} - documented
    assert not missing, f"Settings fields without a docstring: {sorted(missing)}"
