"""Every file the walk sees is accounted for; exit code 1 only for files skipped new or changed in this run."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

from rag.cli import cli


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def _locked_pdf(password: str) -> bytes:
    page = io.BytesIO()
    pdf = canvas.Canvas(page)
    pdf.drawString(72, 720, "Mills line the eastern bank of the river.")
    pdf.save()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(page.getvalue())))
    writer.encrypt(user_password=password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _folder(root: Path) -> Path:
    root.mkdir()
    (root / "notes.txt").write_text("The river runs north in spring. Ferries cross it twice a day.\n", encoding="utf-8")
    (root / "deck.key").write_bytes(b"PK\x03\x04 keynote")
    (root / "budget.numbers").write_bytes(b"PK\x03\x04 numbers")
    (root / "blob").write_bytes(b"\x00\x01\x02 binary")
    (root / "locked.pdf").write_bytes(_locked_pdf("s3cret"))
    return root


def test_ignored_counted_and_skips_fail_only_when_new(ollama, tmp_path: Path) -> None:
    docs = _folder(tmp_path / "docs")
    idx = ["--index", str(tmp_path / "idx"), "--embed-backend", "ollama"]

    code, out = _run("index", str(docs), *idx, "--dry-run", "--json")
    report = json.loads(out)
    by_source = {f["source"]: f for f in report["files"]}
    assert by_source["docs/deck.key"] == {
        **by_source["docs/deck.key"],
        "status": "ignored",
        "reason": "unsupported type .key",
    }
    assert by_source["docs/budget.numbers"]["reason"] == "unsupported type .numbers"
    assert by_source["docs/blob"]["reason"] == "binary file without an extension"
    assert report["ignored"] == 3
    # --dry-run's cheap checks predict the skip of the encrypted PDF without extracting anything
    assert by_source["docs/locked.pdf"]["status"] == "skipped"
    assert by_source["docs/locked.pdf"]["reason"] == "encrypted (give --pdf-password)"

    code, out = _run("index", str(docs), *idx)
    assert code == 1, out
    assert "3 ignored: binary file without an extension; unsupported type .key, .numbers" in out
    assert "docs/locked.pdf: encrypted (give --pdf-password)" in out and "still skipped" not in out

    code, out = _run("index", str(docs), *idx, "--json")
    report = json.loads(out)
    assert code == 0, "a file skipped before and unchanged does not fail the run again"
    (locked,) = [f for f in report["files"] if f["source"] == "docs/locked.pdf"]
    assert locked["status"] == "skipped" and locked["still"] is True
    assert report["skipped"] == 1 and report["still_skipped"] == 1 and report["ignored"] == 3
    code, out = _run("index", str(docs), *idx)
    assert code == 0 and "docs/locked.pdf: encrypted (give --pdf-password) (still skipped)" in out

    (docs / "locked.pdf").write_bytes(_locked_pdf("other"))  # changed: its skip is news again
    stat = (docs / "locked.pdf").stat()
    os.utime(docs / "locked.pdf", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    code, out = _run("index", str(docs), *idx)
    assert code == 1 and "(still skipped)" not in out

    code, out = _run("index", str(docs), *idx, "--pdf-password", "other", "--json")
    report = json.loads(out)
    assert code == 0 and report["skipped"] == 0 and report["added"] == 1
