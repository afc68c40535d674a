"""The status line while the model works: on a terminal only, erased before the answer, never under --json."""

from __future__ import annotations

import io
import os
import sys

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.cli._status import ERASE, StatusLine
from support.hits import index_docs
from support.paths import REPO

pexpect = pytest.importorskip("pexpect")
DEADLINE_S = 180  # pexpect waits at most this long for each text: a deadline, not a timing assertion (a fresh
# `rag ask` took over 60 s to reach the model call at load average 40 on 2 cores)
QUESTION = "What does the embed endpoint return?"


@pytest.fixture
def index(tmp_path, ollama):
    path = index_docs(tmp_path)
    ollama.reset()
    return path


def _spawn(*args: str):
    env = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm")
    return pexpect.spawn(
        sys.executable, ["-m", "rag", *args], env=env, encoding="utf-8", timeout=DEADLINE_S, dimensions=(30, 120)
    )


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
@pytest.mark.parametrize("stream", [False, True])
def test_status_line_while_waiting_then_erased_before_the_answer(index, ollama, stream: bool) -> None:
    ollama.hold("/api/chat", after=0)
    child = _spawn("ask", QUESTION, "--index", index, *(["--stream"] if stream else []))
    child.expect(r"retrieved \d+ passages in \d+ ms - waiting for llama3\.2 \(loading the model\) \.\.\. \d+ s")
    ollama.release()
    child.expect_exact(ERASE)  # the line is wiped before anything else is printed
    child.expect_exact("Sources:")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "waiting for" not in child.before  # not redrawn after the answer


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_no_status_line_under_json_even_on_a_terminal(index, ollama) -> None:
    child = _spawn("ask", QUESTION, "--index", index, "--json")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "waiting for" not in child.before and ERASE not in child.before


def test_no_status_line_when_stderr_is_not_a_terminal(index, ollama) -> None:
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--index", index])
    assert result.exit_code == 0
    assert "waiting for" not in result.stderr and "\x1b" not in result.stderr


def test_status_line_text_and_erase() -> None:
    out = io.StringIO()
    status = StatusLine(True, stream=out)
    status("retrieved", {"hits": 6, "ms": 12.4})
    status("waiting", {"model": "qwen2.5-coder:1.5b"})
    assert status.line().startswith("retrieved 6 passages in 12 ms - waiting for qwen2.5-coder:1.5b ... ")
    status.draw()
    status.clear()
    assert out.getvalue().endswith(ERASE)
    assert "waiting for qwen2.5-coder:1.5b" in out.getvalue()


def test_disabled_status_line_writes_nothing() -> None:
    out = io.StringIO()
    status = StatusLine(False, stream=out)
    status("retrieved", {"hits": 6, "ms": 1})
    status("waiting", {"model": "m"})
    status.draw()
    status.clear()
    assert out.getvalue() == ""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_ctrl_c_while_waiting_exits_130_with_one_line(index, ollama) -> None:
    ollama.hold("/api/chat", after=0)
    child = _spawn("ask", QUESTION, "--index", index)
    child.expect_exact("waiting for llama3.2")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    ollama.release()
    assert child.exitstatus == 130
    assert "Interrupted." in child.before and "Traceback" not in child.before and "Aborted" not in child.before
