"""The `rag chat` loop: a REPL on a terminal (readline editing and history, Ctrl-C cancels the answer, Ctrl-D quits,
slash commands), or one question per line from piped input.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from rag.cli._answers import EXTRACTIVE_NOTE, print_answer, print_stream, print_warnings
from rag.cli._output import echo, echo_raw, json_text, sanitize
from rag.cli._paths import cited_sources, save_last, source_paths, with_paths
from rag.cli._status import StatusLine, model_loaded
from rag.errors import ModelOutputError

HISTORY_FILE = "chat_history"
HISTORY_LENGTH = 1000
PROMPT = "> "
HELP = """Type a question; follow-ups keep the context of the conversation.
  /sources      list the sources of the last answer
  /sources N    show source [N] in full: file, pages and the passage
  /reset        forget the conversation (start a new topic)
  /help         this help
  /exit         quit (also Ctrl-D, exit, quit)
Up/Down recall earlier questions; Ctrl-C cancels the answer being written."""
CANCELLED = "(answer cancelled)"
CTRL_C_AT_PROMPT = "(Ctrl-D or /exit to quit)"
RESET_DONE = "(conversation forgotten)"
NO_SOURCES = "No sources yet: ask a question first."
EXIT_WORDS = ("exit", "quit", "/exit", "/quit", "/bye")


def banner(rag: Any) -> str:
    """The first line of an interactive chat: what is being talked to, and how to get help or leave."""
    s = rag.settings
    return f"rag chat - collection {s.collection!r}, chat model {s.chat_model}. /help for commands, Ctrl-D to quit."


class Chat:
    """One chat: the library's ChatSession plus the terminal side (status line, printing, slash commands)."""

    def __init__(self, rag: Any, search: dict[str, Any], *, stream: bool, json_: bool, interactive: bool) -> None:
        self.rag = rag
        self.stream = stream
        self.json_ = json_
        self.interactive = interactive
        self.status = StatusLine(
            interactive and sys.stderr.isatty() and not json_, loaded=model_loaded(rag.client.host)
        )
        self.session = rag.chat(on_event=self.status, **search)
        self.seen_warnings: set[str] = set()
        self.last: Any = None
        self.paths: dict[str, str] = {}

    # ---- the loops ----

    def run(self) -> int:
        """Read questions until end of input or /exit; return the exit code (0)."""
        if self.interactive:
            return self._interactive()
        for line in sys.stdin:
            message = line.strip()
            if message.lower() in EXIT_WORDS:
                break
            if message and not self.command(message):
                self.answer(message)
        return 0

    def _interactive(self) -> int:
        history = _open_history()
        if not self.json_:
            echo(banner(self.rag), err=True)
        try:
            while True:
                try:
                    line = input(PROMPT)
                except EOFError:
                    echo_raw("")  # end the prompt line, so the shell prompt starts on its own
                    return 0
                except KeyboardInterrupt:
                    echo_raw("")
                    echo(CTRL_C_AT_PROMPT, err=True)
                    continue
                message = line.strip()
                if not message:
                    continue
                if message.lower() in EXIT_WORDS:
                    return 0
                if self.command(message):
                    continue
                try:
                    self.answer(message)
                except KeyboardInterrupt:
                    self.status.clear()
                    echo_raw("")
                    echo(CANCELLED, err=True)
        finally:
            self.status.clear()
            _save_history(history)

    # ---- one turn ----

    def answer(self, message: str) -> None:
        """Answer one message and print it; a bad model reply is reported and the chat goes on."""
        try:
            if self.stream:
                items = self.session.ask_stream(message)
                try:
                    answer = print_stream(
                        items, self.json_, before_text=self.status.clear, paths_for=self._paths_for, warn=self._warn
                    )
                finally:
                    items.close()
            else:
                try:
                    answer = self.session.ask(message)
                finally:
                    self.status.clear()
                paths = self._paths_for(answer)
                self._warn(answer)
                if self.json_:
                    echo_raw(json_text(with_paths(answer.to_dict(), paths), indent=None))
                else:
                    print_answer(answer, paths=paths)
        except ModelOutputError as exc:
            self.status.clear()
            echo(f"Error: {exc}", err=True)
            return
        if not self.json_:
            echo()

    def _warn(self, answer: Any) -> None:
        print_warnings(answer, self.seen_warnings)

    def _paths_for(self, answer: Any) -> dict[str, str]:
        self.last = answer
        self.paths = source_paths(self.rag, cited_sources(answer))
        save_last(self.rag, answer, self.paths)
        return self.paths

    # ---- slash commands ----

    def command(self, message: str) -> bool:
        """Run a slash command; False when `message` is a question."""
        if not message.startswith("/"):
            return False
        name, _, arg = message.partition(" ")
        if name == "/help":
            echo(HELP)
        elif name == "/reset":
            self.session.reset()
            echo(RESET_DONE, err=True)
        elif name == "/sources":
            self.sources(arg.strip())
        else:
            echo(f"Unknown command {name}. /help lists the commands.", err=True)
        return True

    def sources(self, arg: str) -> None:
        """`/sources`: the last answer's source list; `/sources N`: source N in full."""
        if self.last is None or not self.last.citations:
            echo(NO_SOURCES, err=True)
            return
        citations = {c.n: c for c in self.last.citations}
        if not arg:
            print_answer(self.last, body=False, paths=self.paths)
            return
        if not arg.isdigit() or int(arg) not in citations:
            echo(f"No source [{sanitize(arg)}]: the last answer has sources 1-{max(citations)}.", err=True)
            return
        c = citations[int(arg)]
        hit = next((h for h in self.last.hits if h.id == c.id), None)
        where = self.paths.get(c.source) or c.source
        pages = (
            f", page {c.page_start}" + (f"-{c.page_end}" if c.page_end and c.page_end != c.page_start else "")
            if c.page_start
            else ""
        )
        echo(f"[{c.n}] {c.source}{pages}{', OCR' if c.ocr else ''}")
        echo(f"    {where}")
        if c.heading_path:
            echo(f"    § {' > '.join(c.heading_path)}")
        if hit is not None:
            echo("")
            echo(hit.text.strip())
        elif c.quote:
            echo(f'    "{c.quote}"')


def _open_history() -> Any:
    """readline with the history file from the user dir loaded (None where readline is missing)."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    from rag.config import user_dir

    path = user_dir() / HISTORY_FILE
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LENGTH)
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    with contextlib.suppress(OSError):
        readline.write_history_file(path)


__all__ = [
    "CANCELLED",
    "CTRL_C_AT_PROMPT",
    "EXTRACTIVE_NOTE",
    "HELP",
    "HISTORY_FILE",
    "NO_SOURCES",
    "RESET_DONE",
    "Chat",
    "banner",
]
