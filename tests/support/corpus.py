"""Generated document folders for index tests."""

from __future__ import annotations

from pathlib import Path

from rag import RAG

WORDS = [
    "river",
    "mountain",
    "lantern",
    "harbor",
    "orchard",
    "meadow",
    "compass",
    "glacier",
    "violin",
    "canyon",
    "ember",
    "falcon",
    "thistle",
    "quarry",
    "saddle",
    "beacon",
    "marble",
    "willow",
    "anchor",
    "prism",
]


def paragraphs_text(seed: int, paragraphs: int = 3, words: int = 60) -> str:
    out = []
    for p in range(paragraphs):
        body = " ".join(
            WORDS[(seed * 7 + p * 3 + i) % len(WORDS)] + ("." if i % 12 == 11 else "") for i in range(words)
        )
        out.append(f"Paragraph {p} of document {seed}. {body}")
    return "\n\n".join(out) + "\n"


def make_docs(root: Path, n: int = 5) -> Path:
    """A folder of n Markdown/text files, a few chunks each, one in a subfolder."""
    (root / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        name = f"sub/doc{i}.md" if i == 0 else f"doc{i}.txt" if i % 2 else f"doc{i}.md"
        prefix = f"# Title {i}\n\n" if name.endswith(".md") else ""
        (root / name).write_text(prefix + paragraphs_text(i), encoding="utf-8")
    return root


def open_rag(index: Path, **kw) -> RAG:
    kw = {"embed_backend": "ollama", "chunk_tokens": 60, "chunk_overlap": 10} | kw
    return RAG(index, **kw)
