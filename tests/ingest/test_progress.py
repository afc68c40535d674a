"""Index progress weighted by work (PDF pages, bytes), naming the file being worked on."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.pdfgen import canvas

from ingest.precheck import PAGE_WORK
from rag import RAG


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
    start, *files = events
    assert start.event == "start" and start.current == "docs/a_note.txt"
    assert (
        start.work_total == 40 * PAGE_WORK + (docs / "a_note.txt").stat().st_size + (docs / "c_note.txt").stat().st_size
    )
    done = [e.work_done for e in files]
    assert done == sorted(done) and done[-1] == start.work_total
    by_source = {e.outcome.source: e for e in files}
    assert by_source["docs/a_note.txt"].current == "docs/b_book.pdf", "the book is what the run waits for next"
    book_share = (by_source["docs/b_book.pdf"].work_done - by_source["docs/a_note.txt"].work_done) / start.work_total
    assert book_share > 0.9, "the 40-page book is most of the work, not a third of it"
    assert files[-1].current is None
