"""Render the sample handbooks (scripts/sample_pdf/*.md) into multi-page PDFs in sample_docs/.

    python scripts/make_sample_pdf.py            # writes sample_docs/handbook.pdf and sample_docs/handbook-zh.pdf
    python scripts/make_sample_pdf.py --out DIR  # somewhere else

Needs reportlab (the `[docs]` extra). Chinese uses reportlab's built-in CID font STSong-Light, whose text pypdf
extracts back exactly. Each `## ` section starts a new page, so citations carry distinct page numbers. The output is
deterministic (reportlab's invariant mode: fixed dates and document id), so re-running gives identical files.

Markdown understood: `# ` title, `## ` section, `- ` bullets (continuation lines indented), paragraphs separated by
blank lines, and `inline code`.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
SOURCES = Path(__file__).resolve().parent / "sample_pdf"
OUT_DIR = REPO / "sample_docs"
CJK_FONT = "STSong-Light"
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WIDE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _join(lines: list[str]) -> str:
    """Join wrapped source lines: with a space, except between two CJK characters (Chinese has no spaces)."""
    text = ""
    for line in lines:
        glue = "" if not text or (_WIDE.match(text[-1]) and _WIDE.match(line[0])) else " "
        text += glue + line
    return text


def parse(text: str) -> list[tuple[str, str]]:
    """Blocks of a small Markdown subset: (kind, text) with kind "title", "section", "bullet" or "para"."""
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append((kind, _join(current)))
        current, kind = [], ""

    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            flush()
        elif line.startswith("# "):
            flush()
            blocks.append(("title", line[2:].strip()))
        elif line.startswith("## "):
            flush()
            blocks.append(("section", line[3:].strip()))
        elif line.startswith("- "):
            flush()
            kind, current = "bullet", [line[2:].strip()]
        elif current and raw.startswith("  "):
            current.append(line.strip())
        else:
            if kind != "para":
                flush()
                kind = "para"
            current.append(line.strip())
    flush()
    return blocks


def _markup(text: str, code_font: str) -> str:
    """Escape for reportlab's paragraph markup, rendering `code` in the code font."""
    parts = text.split("`")
    return "".join(
        escape(p) if i % 2 == 0 else f'<font face="{code_font}">{escape(p)}</font>' for i, p in enumerate(parts)
    )


def build(source: Path, out: Path) -> Path:
    """Render one Markdown source into a PDF at `out` (a new page per section). Returns `out`."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import ListFlowable, ListItem, PageBreak, Paragraph, SimpleDocTemplate, Spacer

    text = source.read_text(encoding="utf-8")
    cjk = bool(_HAN.search(text))
    if cjk:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    body_font = CJK_FONT if cjk else "Helvetica"
    bold_font = CJK_FONT if cjk else "Helvetica-Bold"
    code_font = CJK_FONT if cjk else "Courier"
    wrap = "CJK" if cjk else None
    body = ParagraphStyle("body", fontName=body_font, fontSize=11, leading=16, spaceAfter=6, wordWrap=wrap)
    heading = ParagraphStyle("h2", fontName=bold_font, fontSize=15, leading=20, spaceAfter=8, wordWrap=wrap)
    title = ParagraphStyle("h1", fontName=bold_font, fontSize=19, leading=24, spaceAfter=14, wordWrap=wrap)

    story: list[object] = []
    bullets: list[object] = []

    def end_list() -> None:
        if bullets:
            story.append(
                ListFlowable(list(bullets), bulletType="bullet", start="-", leftIndent=12, bulletFontName=body_font)
            )
            bullets.clear()

    sections = 0
    for kind, content in parse(text):
        if kind != "bullet":
            end_list()
        if kind == "title":
            story.append(Paragraph(_markup(content, code_font), title))
        elif kind == "section":
            if sections:
                story.append(PageBreak())
            sections += 1
            story.append(Paragraph(_markup(content, code_font), heading))
        elif kind == "bullet":
            bullets.append(ListItem(Paragraph(_markup(content, code_font), body)))
        else:
            story.append(Paragraph(_markup(content, code_font), body))
    end_list()
    story.append(Spacer(1, 4 * mm))

    out.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        invariant=True,
        title=parse(text)[0][1],
        author="ollama-rag",
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
    )
    doc.build(story)
    return out


def build_all(out_dir: Path = OUT_DIR) -> list[Path]:
    """Render every scripts/sample_pdf/*.md into `out_dir`/<name>.pdf, in name order."""
    return [build(src, out_dir / f"{src.stem}.pdf") for src in sorted(SOURCES.glob("*.md"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: sample_docs/)")
    args = parser.parse_args()
    for path in build_all(args.out):
        print(path)


if __name__ == "__main__":
    main()
