"""Reader packs on a real `chroma run` server: a cold reader starts from the writers' pack and catches up."""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
import zlib
from pathlib import Path

import chromadb
import pytest

from rag import RAG
from rag.config import Settings
from rag.retrieve import bm25
from rag.store import open_index
from rag.store.chroma import ChromaStore
from rag.store.pack import PACKS, PackUnavailable, _ahead, unpack
from rag.store.server_catalog import ServerCatalog
from support.corpus import make_docs, open_rag

pytestmark = pytest.mark.chroma_server

NEVER = 10**9  # reader_pack_min_chunks that never stores a pack


def _cold_reader(folder: Path, url: str, collection: str) -> ServerCatalog:
    reader = open_index(Settings.resolve(index_dir=folder, chroma_url=url, collection=collection)).open_reader()
    assert isinstance(reader, ServerCatalog)
    return reader


def _header(url: str, collection: str):
    with ChromaStore(Path("/nonexistent"), url, collection, create=False) as store:
        return store.packs().header(), store.registry.state() if store.registry else None


def _packs_collection(url: str):
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    return chromadb.HttpClient(host=host, port=int(port)).get_collection(PACKS, embedding_function=None)


def _rows_read_directly(folder: Path, url: str, collection: str) -> dict[str, str]:
    """source -> sha256 from a reader that ignores packs (the truth a pack must reproduce)."""
    lay = open_index(Settings.resolve(index_dir=folder, chroma_url=url, collection=collection)).layout
    with ServerCatalog(lay.index_dir, url, collection, lay.home / "direct.mirror.sqlite") as direct:
        return {s: r.sha256 for s, r in direct.files().items()}


def test_a_cold_reader_starts_from_the_pack_and_answers(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "lib", n=6)
    (docs / "pump.txt").write_text("The impeller of the quartz pump spins at 3000 rpm.", encoding="utf-8")
    with open_rag(tmp_path / "writer", chroma_url=chroma_url, collection="pk-cold", reader_pack_min_chunks=0) as w:
        report = w.index(docs)
    assert report.error is None
    assert any("reader pack" in note for note in report.warnings), report.warnings
    header, state = _header(chroma_url, "pk-cold")
    assert header is not None and state is not None and header.physical == state.physical
    with _cold_reader(tmp_path / "reader", chroma_url, "pk-cold") as reader:
        assert reader.installed_pack == header.tag
        assert {s: r.sha256 for s, r in reader.files().items()} == _rows_read_directly(
            tmp_path / "other", chroma_url, "pk-cold"
        )
        assert reader.counts()[1] == header.rows
        stem = open_index(
            Settings.resolve(index_dir=tmp_path / "reader", chroma_url=chroma_url, collection="pk-cold")
        ).reader_bm25
        on_disk = bm25.read_header(stem)
        assert on_disk is not None and on_disk["generation"] == reader.generation()  # loaded, not rebuilt
    with RAG(tmp_path / "reader", chroma_url=chroma_url, collection="pk-cold", chat_model="none") as rag:
        answer = rag.ask("How fast does the impeller spin?", mode="bm25")
        assert answer.citations and answer.citations[0].source == "lib/pump.txt"


def test_a_reader_catches_up_on_what_was_written_after_the_pack(ollama, chroma_url, tmp_path) -> None:
    a_docs = make_docs(tmp_path / "alpha", n=5)
    b_docs = tmp_path / "beta"
    b_docs.mkdir()
    (b_docs / "tuner.txt").write_text("The xylophone tuner calibrates bronze bars each morning.", encoding="utf-8")
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="pk-late", reader_pack_min_chunks=0) as a:
        assert a.index(a_docs).error is None
    first, _ = _header(chroma_url, "pk-late")
    assert first is not None
    (a_docs / "doc1.txt").unlink()
    (a_docs / "doc2.md").write_text("# Changed\n\nThe lighthouse keeper logs the fog horn.", encoding="utf-8")
    with open_rag(tmp_path / "wa", chroma_url=chroma_url, collection="pk-late", reader_pack_min_chunks=0) as a:
        assert a.index(a_docs).error is None  # a small change: the pack stays (it is not a tenth behind)
    with open_rag(tmp_path / "wb", chroma_url=chroma_url, collection="pk-late", reader_pack_min_chunks=NEVER) as b:
        assert b.index(b_docs).error is None
    after, _ = _header(chroma_url, "pk-late")
    assert after is not None and after.tag == first.tag
    with _cold_reader(tmp_path / "reader", chroma_url, "pk-late") as reader:
        assert reader.installed_pack == first.tag
        files = {s: r.sha256 for s, r in reader.files().items()}
        assert files == _rows_read_directly(tmp_path / "other", chroma_url, "pk-late")
        assert "alpha/doc1.txt" not in files and "beta/tuner.txt" in files
    with RAG(tmp_path / "reader", chroma_url=chroma_url, collection="pk-late", chat_model="none") as rag:
        tuner = rag.ask("xylophone bronze bars", mode="bm25")
        assert tuner.citations and tuner.citations[0].source == "beta/tuner.txt"
        fog = rag.ask("lighthouse fog horn", mode="bm25")
        assert fog.citations and fog.citations[0].source == "alpha/doc2.md"


def test_a_damaged_pack_makes_the_reader_read_the_rows(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "lib", n=4)
    with open_rag(tmp_path / "writer", chroma_url=chroma_url, collection="pk-bad", reader_pack_min_chunks=0) as w:
        assert w.index(docs).error is None
    header, _ = _header(chroma_url, "pk-bad")
    assert header is not None
    _packs_collection(chroma_url).delete(ids=[f"pk-bad/{header.tag}/0"])
    with _cold_reader(tmp_path / "reader", chroma_url, "pk-bad") as reader:
        assert reader.installed_pack is None
        assert {s: r.sha256 for s, r in reader.files().items()} == _rows_read_directly(
            tmp_path / "other", chroma_url, "pk-bad"
        )


def test_a_rebuild_stores_a_pack_of_the_new_collection(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "lib", n=4)
    with open_rag(tmp_path / "writer", chroma_url=chroma_url, collection="pk-re", reader_pack_min_chunks=0) as w:
        assert w.index(docs).error is None
        old, _ = _header(chroma_url, "pk-re")
        assert w.index(docs, rebuild=True).error is None
    new, state = _header(chroma_url, "pk-re")
    assert old is not None and new is not None and state is not None
    assert new.tag != old.tag and new.physical == state.physical != old.physical
    assert not _packs_collection(chroma_url).get(where={"tag": old.tag})["ids"]  # the old pieces are gone
    with _cold_reader(tmp_path / "reader", chroma_url, "pk-re") as reader:
        assert reader.installed_pack == new.tag


def test_no_pack_below_the_size_floor(ollama, chroma_url, tmp_path) -> None:
    docs = make_docs(tmp_path / "lib", n=3)
    with open_rag(tmp_path / "writer", chroma_url=chroma_url, collection="pk-small", reader_pack_min_chunks=NEVER) as w:
        report = w.index(docs)
    assert report.error is None and not any("reader pack" in n for n in report.warnings)
    header, _ = _header(chroma_url, "pk-small")
    assert header is None


def test_unpack_refuses_paths_and_garbage(tmp_path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"x"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(PackUnavailable):
        unpack([zlib.compress(buf.getvalue())], tmp_path)
    assert not (tmp_path.parent / "escape.txt").exists()
    with pytest.raises(PackUnavailable):
        unpack([b"not a pack"], tmp_path)


def _tar_pieces(files: dict[str, bytes], size: int) -> tuple[list[bytes], str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    blob = zlib.compress(buf.getvalue(), 1)
    return [blob[i : i + size] for i in range(0, len(blob), size)], hashlib.sha256(blob).hexdigest()


def test_unpack_streams_many_pieces_and_checks_the_sum(tmp_path) -> None:
    rng = random.Random(5)
    files = {
        "mirror.sqlite": rng.randbytes(3 * 1024 * 1024) + b"a" * (2 * 1024 * 1024),  # past INFLATE_BYTES
        "state.json": b'{"generation": 3}',
        "bm25.seg": bytes(range(256)) * 999,
    }
    pieces, digest = _tar_pieces(files, size=77_777)
    assert len(pieces) > 20
    (tmp_path / "ok").mkdir()
    out = unpack(iter(pieces), tmp_path / "ok", sha256=digest)
    assert {name: path.read_bytes() for name, path in out.items()} == files
    (tmp_path / "bad").mkdir()
    with pytest.raises(PackUnavailable, match="checksum"):
        unpack(pieces, tmp_path / "bad", sha256="0" * 64)
    (tmp_path / "cut").mkdir()
    with pytest.raises(PackUnavailable):
        unpack(pieces[: len(pieces) // 2], tmp_path / "cut", sha256=digest)


def test_the_download_helper_hands_its_error_to_the_reader() -> None:
    def pieces():
        yield b"one"
        raise PackUnavailable("piece 1 is gone")

    got = []
    with pytest.raises(PackUnavailable, match="piece 1 is gone"):
        for piece in _ahead(pieces()):
            got.append(piece)
    assert got == [b"one"]
