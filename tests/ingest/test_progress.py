"""Index progress weighted by work (PDF pages, bytes), naming the file being worked on."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.pdfgen import canvas

from ingest.precheck import PAGE_WORK
from rag import RAG
from rag.index.progress import EXTRACT_SHARE


def _book(pages: int) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    for n in range(pages):
        c.drawString(72, 720, f"Page {n} of the long book about rivers, mills and bridges.")
        c.showPage()
    c.save()
    return out.getvalue()


def test_progress_is_weighted_by_pages_and_names_the_current_file(ollama, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a_note.txt").write_text("A short note on ferries. " * 4, encoding="utf-8")
    (docs / "b_book.pdf").write_bytes(_book(40))
    (docs / "c_note.txt").write_text("Another short note on mills. " * 4, encoding="utf-8")
    events = []
    with RAG(tmp_path / "idx", embed_backend="ollama") as rag:
        rag.index(docs, progress=events.append)
    start, *rest = events
    files = [e for e in rest if e.event == "file"]
    pages = [e for e in rest if e.event == "page"]
    assert start.event == "start" and start.current == "docs/a_note.txt"
    assert (
        start.work_total == 40 * PAGE_WORK + (docs / "a_note.txt").stat().st_size + (docs / "c_note.txt").stat().st_size
    )
    done = [e.work_done for e in rest]
    assert done == sorted(done) and done[-1] == start.work_total, "work only grows, page events included"
    by_source = {e.outcome.source: e for e in files}
    assert [e.outcome.source for e in files] == ["docs/a_note.txt", "docs/b_book.pdf", "docs/c_note.txt"]
    assert files[-1].current is None
    book_pages = [(e.stage_done, e.stage_total) for e in pages if e.current == "docs/b_book.pdf" and e.stage == "text"]
    assert book_pages == [(n, 40) for n in range(1, 41)], "every page of the book, in order, before it is done"
    last_page = next(e for e in pages if e.current == "docs/b_book.pdf" and e.stage_done == 40)
    assert last_page.work_done >= EXTRACT_SHARE * 40 * PAGE_WORK, "the bar moves while the book is read"
    assert last_page.work_done < by_source["docs/b_book.pdf"].work_done
