"""Messages that never mislead: crashes exit 2 in one line, terminal escapes never reach the terminal, OLLAMA_HOST
mistakes and chat-model typos are named with their fix, and the small ones (exact texts)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.cli._common import CRASH_MESSAGE, RagGroup
from rag.cli.ask import EMPTY_QUESTION
from support.hits import index_docs
from support.ollama_server import FakeOllama

QUESTION = "What does the embed endpoint return?"
ESCAPES = "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\ \x1b[2J\x1b]0;owned\x07\x9b31m\x1b[8mhidden"


def _run(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), **kwargs)


# ---- (1) crashes exit 2 with one line ----


def _crashing_group() -> click.Group:
    @click.group(cls=RagGroup)
    @click.option("-v", "--verbose", is_flag=True)
    def group(verbose: bool) -> None:
        pass

    @group.command()
    def boom() -> None:
        raise ZeroDivisionError("division by zero")

    return group


def test_an_unexpected_exception_exits_2_with_one_line_not_1() -> None:
    result = CliRunner().invoke(_crashing_group(), ["boom"])
    assert result.exit_code == 2
    assert result.stderr == CRASH_MESSAGE.format(kind="ZeroDivisionError", message="division by zero") + "\n"
    assert "Traceback" not in result.stderr


def test_rag_debug_prints_the_traceback(monkeypatch) -> None:
    monkeypatch.setenv("RAG_DEBUG", "1")
    result = CliRunner().invoke(_crashing_group(), ["boom"])
    assert result.exit_code == 2 and "Traceback (most recent call last)" in result.stderr
    assert result.stderr.endswith(CRASH_MESSAGE.format(kind="ZeroDivisionError", message="division by zero") + "\n")


def test_dash_v_prints_the_traceback() -> None:
    result = CliRunner().invoke(_crashing_group(), ["-v", "boom"])
    assert result.exit_code == 2 and "Traceback (most recent call last)" in result.stderr


def test_the_message_names_the_fix() -> None:
    assert CRASH_MESSAGE.format(kind="KeyError", message="'x'") == (
        "Error: unexpected KeyError: 'x' (a bug in ollama-rag; rerun with RAG_DEBUG=1 or -v for the traceback)"
    )


# ---- (1) terminal escapes from documents and model output ----


@pytest.fixture
def index(tmp_path, ollama):
    path = index_docs(tmp_path)
    ollama.reset()
    return path


def test_escapes_in_a_model_answer_never_reach_the_terminal(index, ollama) -> None:
    reply = json.dumps({"answerable": True, "answer": f"Vectors {ESCAPES} end.", "citations": []})
    ollama.chat_reply = [reply] * 3
    result = _run("ask", QUESTION, "--index", index)
    assert result.exit_code == 0, result.output
    assert "Vectors click me hidden end." in " ".join(result.stdout.split())
    assert not any(ch in result.stdout for ch in "\x1b\x07\x9b")


def test_escapes_in_json_output_are_escaped_not_raw(index, ollama) -> None:
    reply = json.dumps({"answerable": True, "answer": f"Vectors {ESCAPES}", "citations": []})
    ollama.chat_reply = [reply] * 3
    result = _run("ask", QUESTION, "--index", index, "--json")
    assert not any(ch in result.stdout for ch in "\x1b\x07\x9b")
    # lossless but for the injected link, which no cited chunk holds (removed by the link defence)
    assert json.loads(result.stdout)["answer"] == f"Vectors {ESCAPES}".replace("http://evil.example/", "[link removed]")


def test_escapes_in_document_text_are_stripped_from_sources(tmp_path, ollama) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "evil.txt").write_text(
        f"The keep_alive parameter {ESCAPES} controls how long a model stays loaded.\n", encoding="utf-8"
    )
    assert _run("index", str(docs), "--index", str(tmp_path / "index")).exit_code == 0
    result = _run("ask", "keep_alive", "--index", str(tmp_path / "index"), "--chat-model", "none", "--min-score", "0")
    assert result.exit_code == 0, result.output
    assert "keep_alive" in result.stdout
    assert not any(ch in result.stdout + result.stderr for ch in "\x1b\x07\x9b")


# ---- (2) OLLAMA_HOST forms ----


@pytest.mark.parametrize(
    ("host", "message"),
    [
        (
            "127.0.0.1:abc",
            "Error: Invalid Ollama address '127.0.0.1:abc': invalid port 'abc' (use a number from 1 to "
            "65535, e.g. 127.0.0.1:11434).\n",
        ),
        (
            "http://127.0.0.1:11434/api",
            "Error: Invalid Ollama address 'http://127.0.0.1:11434/api': drop the /api path "
            "(use http://127.0.0.1:11434).\n",
        ),
        (
            "http://example.com/ollama/api/tags",
            "Error: Invalid Ollama address 'http://example.com/ollama/api/tags': drop "
            "the /api path (use http://example.com:80/ollama).\n",
        ),
        (
            "not a host",
            "Error: Invalid Ollama address 'not a host': this is not a host name (use HOST, HOST:PORT or "
            "http://HOST:PORT, e.g. 127.0.0.1:11434).\n",
        ),
    ],
)
def test_bad_ollama_host_is_named_with_its_fix(monkeypatch, host: str, message: str) -> None:
    monkeypatch.setenv("OLLAMA_HOST", host)
    result = _run("models")
    assert result.exit_code == 2
    assert result.stderr == message


class _WebPage(BaseHTTPRequestHandler):
    """Some other web server: an HTML page for every path (200 at /, 404 elsewhere)."""

    def do_GET(self) -> None:
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web_server(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("OLLAMA_HOST", url)
    yield url
    server.shutdown()
    server.server_close()


def test_a_web_server_that_is_not_ollama_is_called_so(web_server) -> None:
    result = _run("models")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Something answers at {web_server} but it is not Ollama (HTTP 404 for "
        "/api/version, text/html). Point OLLAMA_HOST (or --ollama-host) at the Ollama server, "
        "e.g. http://127.0.0.1:11434.\n"
    )
    assert "<html>" not in result.output and "Upgrade" not in result.output


def test_ask_against_a_web_server_says_it_is_not_ollama(index, web_server) -> None:
    result = _run("ask", QUESTION, "--index", index)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: Something answers at {web_server} but it is not Ollama")


# ---- (2) chat model names ----


@pytest.fixture
def qwen(monkeypatch):
    models = {
        "all-minilm": dict(family="bert", embedding_length=384, context_length=512, capabilities=["embedding"]),
        "qwen2.5-coder:1.5b": dict(family="qwen2"),
        "llama3.2": dict(family="llama"),
    }
    with FakeOllama(models=models) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        yield server


def test_a_chat_model_typo_gets_did_you_mean_and_the_installed_models(tmp_path, qwen) -> None:
    index = index_docs(tmp_path)
    result = _run("ask", QUESTION, "--index", index, "--chat-model", "qwen2.5-coder:1.5")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Chat model 'qwen2.5-coder:1.5' is not installed in Ollama at {qwen.url}. Did you mean "
        "qwen2.5-coder:1.5b? Installed chat models: qwen2.5-coder:1.5b, llama3.2. Use `--chat-model NAME` (or "
        "RAG_CHAT_MODEL, or `rag config set chat_model NAME`), e.g. `--chat-model qwen2.5-coder:1.5b`.\n"
    )
    assert "pull qwen2.5-coder:1.5`" not in result.stderr  # never "pull the typo"


def test_an_unknown_chat_model_offers_pull_or_none(tmp_path, qwen) -> None:
    index = index_docs(tmp_path)
    result = _run("ask", QUESTION, "--index", index, "--chat-model", "mistral")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: Chat model 'mistral' is not installed in Ollama at {qwen.url}. Run `ollama pull mistral` (or "
        "`rag pull mistral`). Installed chat models: qwen2.5-coder:1.5b, llama3.2. Or use `--chat-model NAME` (or "
        "RAG_CHAT_MODEL, or `rag config set chat_model NAME`) with an installed one, or `--chat-model none` for "
        "extractive answers.\n"
    )


def test_an_embedding_model_as_chat_model_says_what_to_use(tmp_path, qwen) -> None:
    index = index_docs(tmp_path)
    result = _run("ask", QUESTION, "--index", index, "--chat-model", "all-minilm")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: 'all-minilm' is an embedding model: it cannot write answers. Installed chat models: "
        "qwen2.5-coder:1.5b, llama3.2. Use `--chat-model NAME` (or RAG_CHAT_MODEL, or `rag config set chat_model "
        "NAME`), e.g. `--chat-model qwen2.5-coder:1.5b`, or `--chat-model none` for extractive answers.\n"
    )


def test_eval_refuses_to_score_a_missing_chat_model(tmp_path, ollama) -> None:
    index = index_docs(tmp_path)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"question": QUESTION}) + "\n", encoding="utf-8")
    ollama.missing_models = {"llama3.2"}
    result = _run("eval", str(gold), "--index", index)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: Chat model 'llama3.2' is not installed in Ollama at {ollama.url}.")


# ---- small ones ----


def test_ask_joins_unquoted_words(index, ollama) -> None:
    result = _run("ask", "what", "is", "keep_alive", "--index", index, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["question"] == "what is keep_alive"


def test_an_empty_question_is_a_usage_error(index) -> None:
    result = _run("ask", "  ", "--index", index)
    assert result.exit_code == 2 and EMPTY_QUESTION in result.stderr


def test_bare_rag_prints_help_and_exits_0() -> None:
    result = _run()
    assert (
        result.exit_code == 0
        and "Commands:" in result.stdout
        and "rag index sample_docs --collection tour" in result.stdout
    )


def test_rag_help_command_shows_that_commands_help() -> None:
    result = _run("help", "ask")
    assert result.exit_code == 0 and result.stdout.startswith("Usage: rag ask [OPTIONS] QUESTION...")
    assert _run("help", "nope").exit_code == 2


def test_remove_says_file_not_files(tmp_path, ollama) -> None:
    index = index_docs(tmp_path)
    result = _run("remove", str(tmp_path / "docs" / "notes.txt"), "--index", index)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Removed 1 file (1 chunk) under ") or result.stdout.startswith("Removed 1 file (")


def test_help_never_says_default_settings() -> None:
    text = _run("ask", "-h").stdout
    assert "(default: settings)" not in text and "or settings" not in text


def test_abstention_reason_is_plain_words(index, ollama) -> None:
    data = json.loads(_run("ask", QUESTION, "--index", index, "--json", "--min-score", "0.9999").stdout)
    assert data["mode"] == "abstained"
    assert "no passage is close enough to the question" in json.dumps(data)
    assert "lower --min-score to answer anyway" in json.dumps(data)


# ---- paths: absolute in --json, `rag open N` ----


def test_json_citations_carry_absolute_paths_and_rag_open_finds_them(tmp_path, ollama, monkeypatch) -> None:
    index = index_docs(tmp_path)
    monkeypatch.chdir(tmp_path / "docs" / "zh")  # citations are found from any working directory
    data = json.loads(_run("ask", QUESTION, "--index", index, "--json").stdout)
    assert data["citations"]
    for c in data["citations"]:
        assert c["path"] == str(tmp_path / c["source"]) and (tmp_path / c["source"]).is_file()
    result = _run("open", "1", "--print", "--index", index)
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == data["citations"][0]["path"]
    missing = _run("open", "99", "--print", "--index", index)
    assert missing.exit_code == 2 and "there is no [99]" in missing.stderr


def test_rag_open_after_a_declined_answer_opens_its_closest_passage(tmp_path, ollama) -> None:
    index = index_docs(tmp_path)
    ollama.chat_reply = [json.dumps({"answerable": False, "citations": []})]
    data = json.loads(_run("ask", QUESTION, "--index", index, "--json", "--min-score", "0").stdout)
    assert data["answerable"] is False and data["citations"] == [] and data["closest"]
    result = _run("open", "1", "--print", "--index", index)
    assert result.exit_code == 0 and result.stdout.splitlines()[0] == data["closest"][0]["path"]


def test_rag_open_before_any_answer_says_what_to_do() -> None:
    from rag.cli.open import NO_LAST_ANSWER

    result = _run("open", "1", "--print")
    assert result.exit_code == 2 and result.stderr == f"Error: {NO_LAST_ANSWER}\n"


def test_osc8_links_only_when_enabled_and_only_ours(tmp_path, ollama, monkeypatch) -> None:
    index = index_docs(tmp_path)
    monkeypatch.setenv("RAG_LINKS", "1")
    out = _run("ask", QUESTION, "--index", index).stdout
    uri = (tmp_path / "docs").resolve().as_uri()
    assert f"\x1b]8;;{uri}/" in out  # our link to the cited file
    assert out.count("\x1b]8;;") == 2 * out.count("\n[")  # one open and one close per source line, nothing else
    monkeypatch.setenv("RAG_LINKS", "0")
    assert "\x1b" not in _run("ask", QUESTION, "--index", index).stdout


# ---- rag chat with piped input ----


def test_piped_chat_prints_one_json_answer_per_line_and_streams(index, ollama) -> None:
    questions = "What does the embed endpoint return?\nAnd what about chat replies?\nexit\nnever asked\n"
    result = CliRunner().invoke(cli, ["chat", "--index", index, "--json"], input=questions)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == ["What does the embed endpoint return?", "And what about chat replies?"]
    assert all(c["path"] for a in answers for c in a["citations"])
    streamed = CliRunner().invoke(cli, ["chat", "--index", index, "--stream", "--json"], input=f"{QUESTION}\n")
    lines = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert streamed.exit_code == 0 and "delta" in lines[0] and lines[-1]["question"] == QUESTION


def test_piped_chat_warns_once_when_ollama_is_down(tmp_path, ollama, monkeypatch) -> None:
    index = index_docs(tmp_path)
    ollama.stop()
    result = CliRunner().invoke(cli, ["chat", "--index", index, "--min-score", "0"], input="keep_alive\nnum_ctx\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Warning: Ollama is not reachable") == 1
    assert result.stdout.count("Sources:") == 2
