"""`rag chat` under a real pseudo-terminal (pexpect): banner, Up-arrow history, Ctrl-C cancels the answer and the
chat goes on, Ctrl-D exits 0 after a newline, /help /sources N /reset /exit, history kept in the user dir."""

from __future__ import annotations

import os
import sys

import pytest

from rag.cli.repl import CANCELLED, CTRL_C_AT_PROMPT, HISTORY_FILE, RESET_DONE
from support.hits import index_docs
from support.paths import REPO, free_port

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

DEADLINE_S = 60  # pexpect waits at most this long for each expected text (a deadline, not a timing assertion)
UP = "\x1b[A"


@pytest.fixture
def index(tmp_path, ollama):
    path = index_docs(tmp_path)
    ollama.reset()
    return path


def _spawn(index: str, *args: str, model: str = "llama3.2", **env_vars: str):
    env = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm", COLUMNS="100", LINES="30", **env_vars)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rag", "chat", "--index", index, *args],
        env=env,
        encoding="utf-8",
        timeout=DEADLINE_S,
        dimensions=(30, 100),
    )
    child.expect_exact(f"rag chat - collection 'default', chat model {model}. /help for commands, Ctrl-D to quit.")
    child.expect_exact("> ")
    return child


def _finish(child) -> None:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before


def test_ctrl_c_cancels_the_answer_and_the_chat_goes_on(index, ollama) -> None:
    ollama.hold("/api/chat", after=0)
    child = _spawn(index)
    child.sendline("What does the embed endpoint return?")
    child.expect_exact("waiting for llama3.2")  # the status line, while the model is held
    child.sendintr()
    child.expect_exact(CANCELLED)
    ollama.release()
    child.expect_exact("> ")
    child.sendintr()  # at the prompt: a hint, not the end
    child.expect_exact(CTRL_C_AT_PROMPT)
    child.sendline("/help")
    child.expect_exact("/sources N    show source [N] in full")
    child.expect_exact("> ")
    child.sendline("What does the embed endpoint return?")
    child.expect_exact("Sources:")
    child.expect_exact("[1] docs/")
    child.expect_exact("> ")
    child.sendline("/sources 1")
    child.expect_exact("[1] docs/")
    child.expect_exact(str(REPO.anchor))  # the absolute path line
    child.expect_exact("> ")
    child.sendline("/sources 99")
    child.expect(r"No source \[99\]: the last answer has sources 1-\d+\.")
    child.sendline("/reset")
    child.expect_exact(RESET_DONE)
    child.sendline("/exit")
    _finish(child)


def test_up_arrow_recalls_history_and_ctrl_d_exits_0_with_a_newline(index, ollama, _isolated_env) -> None:
    child = _spawn(index, "--chat-model", "none", model="none")
    child.sendline("keep_alive parameter")
    child.expect_exact("Sources:")
    child.expect_exact("> ")
    child.send(UP)
    child.expect_exact("keep_alive parameter")  # readline redrew the earlier question
    child.send("\r")
    child.expect_exact("Sources:")
    child.expect_exact("> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    tail = child.before
    child.close()
    assert child.exitstatus == 0
    assert tail.endswith("\r\n")  # the shell prompt starts on a line of its own
    history = (_isolated_env / HISTORY_FILE).read_text(encoding="utf-8")
    assert history.count("keep_alive parameter") == 1  # asked twice; readline keeps one of consecutive repeats


def test_history_from_an_earlier_chat_is_there(index, ollama, _isolated_env) -> None:
    (_isolated_env / HISTORY_FILE).write_text("an old question\n", encoding="utf-8")
    child = _spawn(index, "--chat-model", "none", model="none")
    child.send(UP)
    child.expect_exact("an old question")
    child.send("\x15")  # Ctrl-U: clear the line
    child.sendline("/exit")
    _finish(child)


def test_offline_warning_is_printed_once_per_chat(index) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there: extractive answers
    child = _spawn(index, "--stream", "--min-score", "0", OLLAMA_HOST=closed)
    child.sendline("What does the embed endpoint return?")
    child.expect_exact("Warning: Ollama is not reachable")
    child.expect_exact("or pass `--chat-model none` to silence this")
    child.expect_exact("> ")
    child.sendline("And the chat endpoint?")
    index_of = child.expect_exact(["Warning: Ollama is not reachable", "Sources:"])
    assert index_of == 1
    child.expect_exact("> ")
    child.sendline("exit")
    _finish(child)
