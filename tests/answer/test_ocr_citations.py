"""Citations of OCR'd text say so: "p. 3, OCR" in the label and `ocr` on the Citation."""

from __future__ import annotations

import pytest

from rag.answer.citations import make_citation, page_label
from rag.retrieve.hybrid import Hit


@pytest.mark.parametrize(
    ("start", "end", "ocr", "label"),
    [(3, 3, True, "p. 3, OCR"), (3, 4, True, "p. 3-4, OCR"), (3, None, False, "p. 3"), (None, None, False, "")],
)
def test_page_label_marks_ocr(start, end, ocr, label) -> None:
    assert page_label(start, end, ocr) == label


def _hit(ocr: bool) -> Hit:
    text = "Ferries cross the river twice daily from the north pier in summer."
    return Hit("c1", text, "r/scan.pdf", 3, 3, 0, len(text), (), 0, 0.9, 1.0, 1.0, 1, ocr=ocr)


@pytest.mark.parametrize("ocr", [True, False])
def test_citation_carries_the_hits_mark(ocr: bool) -> None:
    citation = make_citation(1, _hit(ocr), "Ferries cross the river twice daily")
    assert citation.verified and citation.ocr is ocr and citation.to_dict()["ocr"] is ocr
