"""Robustness over the real PDFs in ../shared/eval/pdfs (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import ExtractParams, discover, extract_many
from ingest.loaders import ocr

HAN = range(0x4E00, 0xA000)
EXPECTED_SKIPS = {
    "bad_header_eof_only.pdf": "malformed PDF",
    "bad_truncated_tracemonkey_first300KB.pdf": "malformed PDF",
    "enc_aes128_userpw_asdfzxcv.pdf": "encrypted (give --pdf-password)",
    "enc_userpw_openpassword.pdf": "encrypted (give --pdf-password)",
    "scan_imageonly_huckfinn_page.pdf": "no extractable text (scanned? needs OCR)",
    "scan_imageonly_two-column_brochure.pdf": "no extractable text (scanned? needs OCR)",
}


@pytest.mark.slow
def test_every_shared_pdf_ends_indexed_or_skipped(shared_eval: Path) -> None:
    files = [f for f in discover(shared_eval / "pdfs") if f.kind == "pdf"]  # not MANIFEST.tsv (read as a table)
    assert len(files) >= 20
    # the user password of one encrypted file is known (see MANIFEST.tsv): a per-file password opens it
    params = ExtractParams(timeout_s=120, pdf_passwords={"pdfs/enc_aes128_userpw_asdfzxcv.pdf": "asdfzxcv"})
    results = {src.rel: (report, chunks) for src, report, chunks in extract_many(files, params, workers=2)}
    assert sorted(results) == sorted(s.rel for s in files)
    for rel, (report, chunks) in results.items():
        assert "timed out" not in (report.reason or ""), rel
        if report.status == "ok":
            assert chunks and report.chunks == len(chunks), rel
            assert all(c.text.strip() and c.page_start and c.page_start <= c.page_end for c in chunks), rel
        else:
            assert report.status == "skipped" and report.reason and not chunks, rel
    for rel, reason in EXPECTED_SKIPS.items():
        if rel == "enc_aes128_userpw_asdfzxcv.pdf":
            assert results[rel][0].status == "ok", "the per-file password opens it"
            continue
        if rel.startswith("scan_") and ocr.available():  # the [ocr] extra reads the scanned page
            assert results[rel][0].status == "ok" and "pages 1: OCR (no text layer)" in results[rel][0].warnings
            continue
        assert results[rel][0].status == "skipped" and results[rel][0].reason.startswith(reason), rel
    for rel in ("bad_broken_xref_recoverable.pdf", "enc_aes256_ownerpw_only_opens.pdf", "de_GeoTopo_thesis.pdf"):
        assert results[rel][0].status == "ok", rel
    for rel in ("zh_debian-reference.pdf", "zh_texlive-zh-cn_guide.pdf"):
        han = sum(1 for c in results[rel][1] for ch in c.text if ord(ch) in HAN)
        assert han > 10_000, rel
    for rel in ("zh_install-latex-guide.pdf", "zh_tlmgr-intro.pdf"):  # pypdf turns these into mojibake; PDFium not
        report, chunks = results[rel]
        assert report.status == "ok" and not any("mojibake" in w for w in report.warnings), rel
        assert sum(1 for c in chunks for ch in c.text if ord(ch) in HAN) > 4000, rel
