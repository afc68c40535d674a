"""Bad input through the whole index stage: hostile files and the real shared PDFs end indexed or skipped with a
specific reason, nothing crashes, a hung file is cut off by the per-file time limit, and the rest is indexed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rag import RAG
from rag.cli import cli
from rag.store.catalog import Catalog
from rag.store.layout import layout
from support.adversarial import make_adversarial
from support.consistency import assert_consistent_state, store_state

TIMEOUT_S = 4.0
LIMIT_BYTES = 2_000_000


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str | None]]:
    base = tmp_path_factory.mktemp("hostile")
    expect = make_adversarial(base / "docs", base / "outside")
    return base / "docs", expect


def test_every_hostile_file_is_indexed_or_skipped_with_its_reason(ollama, hostile, tmp_path: Path) -> None:
    docs, expect = hostile
    with RAG(tmp_path / "idx", embed_backend="ollama", max_file_bytes=LIMIT_BYTES, file_timeout_s=TIMEOUT_S) as rag:
        report = rag.index(docs)
    outcomes = {o.source: o for o in report.files}
    # symlink loops, dangling links and links out of the root are not files of the folder at all
    assert set(outcomes) == set(expect), set(outcomes) ^ set(expect)
    assert report.error is None and not report.interrupted and report.exit_code == 1
    for source, reason in expect.items():
        o = outcomes[source]
        if reason == "":
            assert o.status == "added" and o.chunks > 0, (source, o)
        elif reason is None:
            assert o.status == "added" or (o.status == "skipped" and o.reason), (source, o)
        else:
            assert o.status == "skipped" and reason in (o.reason or ""), (source, o)
    # the hung PDF was cut off by the per-file limit and said so
    assert outcomes["docs/slow.pdf"].reason == f"timed out after {TIMEOUT_S:g} s"
    assert report.skipped == sum(1 for o in outcomes.values() if o.status == "skipped")
    state = store_state(tmp_path / "idx")
    assert_consistent_state(state)
    assert set(state["files"]) == {s for s, o in outcomes.items() if o.status == "added"}
    with Catalog(layout(tmp_path / "idx", None, "default").catalog, create=False) as cat:
        texts = " ".join(text for _, text, _ in cat.iter_chunks())
    assert "launch code" not in texts  # the file behind the escaping symlink was never read


def test_cli_lists_each_skip_and_exits_1(ollama, hostile, tmp_path: Path) -> None:
    docs, expect = hostile
    result = CliRunner().invoke(
        cli,
        [
            "index",
            str(docs),
            "--index",
            str(tmp_path / "idx"),
            "--embed-backend",
            "ollama",
            "--max-file-mb",
            "2",
            "--exclude",
            "slow.pdf",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    listed = result.stdout.split("  skipped:\n", 1)[1]
    skipped = [s for s, reason in expect.items() if reason and s != "docs/slow.pdf"]
    for source in skipped:
        assert f"    {source}: " in listed, source
    assert "docs/good0.md" not in listed


@pytest.mark.slow
def test_shared_pdfs_copied_and_linked_index_through_rag(ollama, shared_eval: Path, tmp_path: Path) -> None:
    docs = tmp_path / "pdfs"
    docs.mkdir()
    pdfs = sorted(p for p in (shared_eval / "pdfs").iterdir() if p.suffix == ".pdf")
    for pdf in pdfs:
        shutil.copyfile(pdf, docs / pdf.name)
    (docs / "linked").mkdir()
    for pdf in pdfs[:3]:  # links that stay inside the root are followed
        (docs / "linked" / pdf.name).symlink_to(docs / pdf.name)
    (docs / "outside.pdf").symlink_to(pdfs[0])  # a link out of the root is not
    with RAG(
        tmp_path / "idx",
        embed_backend="ollama",
        pdf_password="asdfzxcv",
        chunk_tokens=400,
        chunk_overlap=40,
        file_timeout_s=900,  # OCR of the scans took > 120 s with both cores busy: the outcome must not depend on load
    ) as rag:
        report = rag.index(docs)
    outcomes = {o.source: o for o in report.files}
    wanted = {f"pdfs/{p.name}" for p in pdfs} | {f"pdfs/linked/{p.name}" for p in pdfs[:3]}
    assert set(outcomes) == wanted
    assert report.error is None and not report.interrupted
    for source, o in outcomes.items():
        assert o.status in ("added", "skipped"), (source, o)
        if o.status == "skipped":
            assert o.reason and "timed out" not in o.reason and "crashed" not in o.reason, (source, o)
        else:
            assert o.chunks > 0, source
    assert outcomes["pdfs/enc_aes128_userpw_asdfzxcv.pdf"].status == "added"  # the given password opens it
    assert outcomes["pdfs/enc_userpw_openpassword.pdf"].reason.startswith("encrypted")
    from ingest.loaders import ocr

    scan = outcomes["pdfs/scan_imageonly_huckfinn_page.pdf"]  # read by OCR when the [ocr] extra is installed
    assert scan.status == "added" if ocr.available() else scan.reason.startswith("no extractable text")
    assert outcomes["pdfs/bad_header_eof_only.pdf"].reason.startswith("malformed PDF")
    assert report.added >= 15
    assert_consistent_state(store_state(tmp_path / "idx"))
