"""Extraction workers start from `ingest.worker`, whatever the caller's `__main__` is: a script without a guard,
`python -c`, a script on stdin, a Jupyter kernel, and a web server's request thread all extract real PDFs in workers
under the per-file time limit.

Each case runs the same code in a fresh interpreter. That code replaces `ingest.pipeline.extract` in its own process
with a function that raises, so a PDF reported "ok" proves a worker (a clean interpreter) extracted it; a slow PDF
proves the time limit and the kill; the marker line proves the caller's main module ran exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ingest
from ingest.frames import FrameBuffer, read_frame, write_frame
from support.adversarial import slow_pdf

ROOT = Path(ingest.__file__).resolve().parent.parent
TIME_LIMIT_S = 2
MARKER = "CALLER-MAIN-RAN"
FINE = ["alpha.pdf", "beta.pdf", "gamma.pdf"]

_BODY = """
import json, sys
from pathlib import Path
print({marker!r}, flush=True)
import ingest.pipeline as pipeline
from ingest import ExtractParams, discover, extract_many

def _not_here(*args, **kwargs):
    raise RuntimeError("extracted in the calling process, not in a worker")

pipeline.extract = _not_here

def run():
    params = ExtractParams(timeout_s={limit})
    found = discover(Path({folder!r}))
    return [[s.rel, r.status, r.reason, len(c), r.pages] for s, r, c in extract_many(found, params)]
"""
_DIRECT = "print('RESULT ' + json.dumps(run()), flush=True)\n"
_THREADED_SERVER = """
import threading, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(run()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/", timeout=300) as reply:
    print("RESULT " + reply.read().decode(), flush=True)
server.shutdown()
"""


@pytest.fixture(scope="module")
def pdf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    folder = tmp_path_factory.mktemp("pdfs")
    for number, name in enumerate(FINE, start=1):
        pdf = canvas.Canvas(str(folder / name), pagesize=A4)
        for page in range(2):
            pdf.drawString(72, 760, f"Document {name} page {page + 1}: the {number} lighthouse keepers log the tide.")
            pdf.showPage()
        pdf.save()
    slow_pdf(folder / "slow.pdf")
    return folder


def _env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return os.environ | {"PYTHONPATH": path}


def _code(folder: Path, tail: str) -> str:
    return _BODY.format(marker=MARKER, limit=TIME_LIMIT_S, folder=str(folder)) + tail


def _check(stdout: str) -> None:
    lines = stdout.splitlines()
    assert lines.count(MARKER) == 1, stdout
    result = json.loads(next(line for line in lines if line.startswith("RESULT "))[len("RESULT ") :])
    by_name = {rel: (status, reason, chunks, pages) for rel, status, reason, chunks, pages in result}
    assert sorted(by_name) == sorted([*FINE, "slow.pdf"])
    for name in FINE:
        status, reason, chunks, pages = by_name[name]
        assert (status, pages) == ("ok", 2), (name, reason)
        assert chunks >= 1
    assert by_name["slow.pdf"][:2] == ("skipped", f"timed out after {TIME_LIMIT_S} s")


def _run(args: list[str], tmp_path: Path, stdin: str | None = None) -> str:
    done = subprocess.run(
        args, check=False, input=stdin, capture_output=True, text=True, timeout=600, env=_env(), cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_script_without_main_guard(pdf_folder: Path, tmp_path: Path) -> None:
    script = tmp_path / "index_my_pdfs.py"
    script.write_text(_code(pdf_folder, _DIRECT), encoding="utf-8")
    _check(_run([sys.executable, str(script)], tmp_path))


def test_python_dash_c(pdf_folder: Path, tmp_path: Path) -> None:
    _check(_run([sys.executable, "-c", _code(pdf_folder, _DIRECT)], tmp_path))


def test_script_on_stdin(pdf_folder: Path, tmp_path: Path) -> None:
    _check(_run([sys.executable, "-"], tmp_path, stdin=_code(pdf_folder, _DIRECT)))


def test_web_server_request_thread(pdf_folder: Path, tmp_path: Path) -> None:
    _check(_run([sys.executable, "-c", _code(pdf_folder, _THREADED_SERVER)], tmp_path))


def test_jupyter_kernel(pdf_folder: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(f"import sys; sys.path.insert(0, {str(ROOT)!r})"),
            nbformat.v4.new_code_cell(_code(pdf_folder, _DIRECT)),
        ]
    )
    resources = {"metadata": {"path": str(tmp_path)}}
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources).execute()
    outputs = [out for cell in notebook.cells for out in cell.outputs]
    stdout = "".join(out.get("text", "") for out in outputs if out.get("name") == "stdout")
    _check(stdout)


def test_frames_round_trip_through_a_buffer_in_pieces() -> None:
    import io

    out = io.BytesIO()
    objects = [("first", 1), {"second": [2.5, None]}, "x" * 100_000]
    for obj in objects:
        write_frame(out, obj)
    raw = out.getvalue()
    buffer, got = FrameBuffer(), []
    for i in range(0, len(raw), 777):
        buffer.feed(raw[i : i + 777])
        while (obj := buffer.pop()) is not None:
            got.append(obj)
    assert got == objects
    stream = io.BytesIO(raw[: len(raw) - 1])
    assert read_frame(stream) == objects[0]
    assert read_frame(stream) == objects[1]
    with pytest.raises(EOFError):
        read_frame(stream)
