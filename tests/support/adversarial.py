"""Hostile inputs for the robustness tests and benchmarks/reliability.py: adversarial folders and generated PDFs."""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path

BOMB_INFLATED_BYTES = 256 * 1024 * 1024
"""What the generated decompression bomb's content stream inflates to."""
EMPTY_PAGES = 10_000
SLOW_TEXT_OBJECTS = 8_000_000
"""Text objects of the slow PDF: ~15 s for PDFium on an idle core here, so it always outlasts a 4 s limit."""
DEEP_LEVELS = 60


def words(seed: int, n: int = 90) -> str:
    vocab = [
        "orchid",
        "basalt",
        "lantern",
        "quorum",
        "ferry",
        "pylon",
        "saffron",
        "tundra",
        "cobalt",
        "marrow",
        "ember",
        "sextant",
        "willow",
        "gazette",
        "harbor",
        "tinsel",
        "mosaic",
        "plinth",
        "quiver",
        "zenith",
    ]
    out = []
    for i in range(n):
        out.append(vocab[(seed * 13 + i * 7) % len(vocab)] + ("." if i % 11 == 10 else ""))
    return f"Note {seed}. " + " ".join(out) + "\n"


def text_pdf(path: Path, pages: list[str]) -> Path:
    """A PDF whose pages show the given lines of text (Helvetica), written with pypdf only."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    font_ref = writer._add_object(font)
    for text in pages:
        page = writer.add_blank_page(612, 792)
        lines = [text[i : i + 80] for i in range(0, len(text), 80)] or [""]
        ops = ["BT", "/F1 10 Tf", "14 TL", "40 750 Td"]
        for line in lines:
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops += [f"({safe}) Tj", "T*"]
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1", "replace"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font_ref})}
        )
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def flate_pdf(path: Path, content: bytes, repeat: int = 1) -> Path:
    """A one-page PDF whose FlateDecode content stream is `content` repeated `repeat` times (compressed while built,
    so a stream that inflates to hundreds of MB costs a few hundred KB on disk)."""
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(b"BT /F1 12 Tf 40 700 Td (boom) Tj ET\n")]
    parts += [compressor.compress(content) for _ in range(repeat)]
    parts.append(compressor.flush())
    data = b"".join(parts)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path.write_bytes(out.getvalue())
    return path


def bomb_pdf(path: Path, inflated: int = BOMB_INFLATED_BYTES) -> Path:
    """A decompression bomb: one page whose content stream inflates to `inflated` bytes of spaces."""
    return flate_pdf(path, b" " * (1 << 20), inflated >> 20)


def slow_pdf(path: Path, objects: int = SLOW_TEXT_OBJECTS) -> Path:
    """A legitimate but slow PDF: one page of `objects` tiny text objects (seconds of pypdf work, small on disk)."""
    return flate_pdf(path, b"BT /F1 9 Tf 10 10 Td (a) Tj ET\n" * 10_000, objects // 10_000)


def empty_pages_pdf(path: Path, pages: int = EMPTY_PAGES) -> Path:
    """A PDF of `pages` blank pages."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def make_adversarial(root: Path, outside: Path) -> dict[str, str | None]:
    """Fill `root` with hostile files beside a few good ones. Returns {source: expected reason substring} for the
    files that must be skipped (None: any reason) and {source: ""} for those that must be indexed. Symlinks that
    leave the root or loop are not files of the folder: they must not appear at all (checked by the caller)."""
    name = root.name
    root.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str | None] = {}

    def good(rel: str, seed: int) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(words(seed), encoding="utf-8")
        expect[f"{name}/{rel}"] = ""

    for i in range(4):
        good(f"good{i}.md", i)
    good("name with spaces.txt", 10)
    good("unicodé 名前 😀.md", 11)
    good("new\nline.txt", 12)
    deep = "/".join(f"d{i}" for i in range(DEEP_LEVELS))
    good(f"{deep}/deep.txt", 13)
    text_pdf(root / "real.pdf", [words(20), words(21)])
    expect[f"{name}/real.pdf"] = ""

    (root / "zero.txt").write_bytes(b"")
    expect[f"{name}/zero.txt"] = "no text"
    (root / "binary.txt").write_bytes(bytes(range(256)) * 64)
    expect[f"{name}/binary.txt"] = "binary"
    (root / "binary.md").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(4096))
    expect[f"{name}/binary.md"] = "binary"
    (root / "bad-utf8.txt").write_bytes(b"caf\xc3 \xff\xfe\xfd \x80\x81 " * 50 + words(30).encode())
    expect[f"{name}/bad-utf8.txt"] = None  # decoded by a detected legacy encoding, or skipped as binary
    (root / "huge.txt").write_text(words(40) * 4000, encoding="utf-8")
    expect[f"{name}/huge.txt"] = "too large"
    bomb_pdf(root / "bomb.pdf")
    expect[f"{name}/bomb.pdf"] = None  # PDFium inflates it to blank text, or the per-file time limit cuts it off
    slow_pdf(root / "slow.pdf")
    expect[f"{name}/slow.pdf"] = "timed out"
    empty_pages_pdf(root / "empty-pages.pdf")
    expect[f"{name}/empty-pages.pdf"] = "no extractable text"
    (root / "not-really.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(2048))
    expect[f"{name}/not-really.pdf"] = "malformed"

    (outside / "secret.md").write_text("# Secret\n\nThe launch code is 0000. " + words(50), encoding="utf-8")
    (root / "escape.md").symlink_to(outside / "secret.md")
    (root / "escape-dir").symlink_to(outside, target_is_directory=True)
    (root / "loop").mkdir()
    (root / "loop" / "again").symlink_to(root / "loop", target_is_directory=True)
    (root / "self").symlink_to(root, target_is_directory=True)
    (root / "dangling.md").symlink_to(root / "missing.md")
    (root / "alias.md").symlink_to(root / "good0.md")  # inside the root: allowed, indexed under its own name
    expect[f"{name}/alias.md"] = ""
    return expect
