"""Where a cited source is on disk, and the last answer's sources (for `rag open N` and `/sources N`)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

LAST_ANSWER_FILE = "last_answer.json"


def source_paths(rag: Any, sources: list[str]) -> dict[str, str]:
    """Absolute paths of `sources` (`<root folder name>/<relative path>`), from the collection's indexed roots.

    A source whose file is gone is still mapped (the path it had) so the user sees where it was."""
    roots = _roots(rag)
    found: dict[str, str] = {}
    for source in sources:
        head, _, rest = source.partition("/")
        candidates = [Path(r) for r in roots if Path(r).name == head]
        existing = [c.parent / source for c in candidates if (c.parent / source).exists()]
        best = existing[0] if existing else (candidates[0].parent / source if candidates else None)
        if best is not None and rest:
            found[source] = str(best)
        elif best is not None:  # a single indexed file: its root is the file itself
            found[source] = str(candidates[0])
    return found


def cited_sources(answer: Any) -> list[str]:
    """Every source an answer names (citations and hits), sorted."""
    return sorted({c.source for c in answer.citations} | {h.source for h in answer.hits})


def _roots(rag: Any) -> list[str]:
    try:
        manifest = rag._query_engine.retriever.catalog.manifest()
    except Exception:
        return []
    return list(manifest.roots) if manifest is not None else []


def with_paths(data: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """An answer's to_dict() with an absolute `path` on each citation, closest passage and hit (None when unknown)."""
    out = dict(data)
    for key in ("citations", "closest", "hits"):
        if isinstance(out.get(key), list):
            out[key] = [item | {"path": paths.get(item.get("source", ""))} for item in out[key]]
    return out


def save_last(rag: Any, answer: Any, paths: dict[str, str]) -> None:
    """Remember the answer's citations (or, for a declined answer, its closest passages) in the index folder
    (nothing is written elsewhere), for `rag open N`."""
    rows = [
        {"n": c.n, "source": c.source, "path": paths.get(c.source), "page": c.page_start, "quote": c.quote}
        for c in answer.citations or getattr(answer, "closest", ())
    ]
    text = json.dumps({"question": answer.question, "citations": rows}, ensure_ascii=False)
    with contextlib.suppress(OSError):
        (Path(rag.settings.index_dir) / LAST_ANSWER_FILE).write_text(text, encoding="utf-8")


def load_last(index_dir: Path) -> dict[str, Any] | None:
    """The citations saved by the last `rag ask` or `rag chat` answer over the index in `index_dir`, or None."""
    try:
        data = json.loads((index_dir / LAST_ANSWER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


__all__ = ["LAST_ANSWER_FILE", "cited_sources", "load_last", "save_last", "source_paths", "with_paths"]
