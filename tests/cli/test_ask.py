"""`rag ask` end to end: real index, fake Ollama over real sockets, CliRunner."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from rag.answer.types import CLOSEST_HEADING, REVISED_HEADING
from rag.cli import cli
from support.answers import RESTATING_QUESTION, VERIFIED_SENTENCE, restating_reply
from support.hits import index_docs
from support.paths import REPO

QUESTION = "What does the embed endpoint return?"


@pytest.fixture
def index(tmp_path, ollama):
    path = index_docs(tmp_path)
    ollama.reset()
    return path


def _ask(index: str, *args: str):
    return CliRunner().invoke(cli, ["ask", *args, "--index", index])


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_human_output_lists_numbered_sources(index) -> None:
    result = _ask(index, QUESTION)
    assert result.exit_code == 0, result.output
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert answer.strip() and not answer.startswith("(extractive)")
    assert sources.startswith("[1] docs/")
    assert '    "' in sources  # the quote under the source line


def test_json_output_validates_against_the_documented_schema(index, ollama) -> None:
    data = _json(_ask(index, QUESTION, "--json"))
    schema = json.loads((REPO / "docs" / "answer.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, schema)
    assert data["mode"] == "generative" and data["model"] == "llama3.2"
    hit_ids = {h["id"] for h in data["hits"]}
    assert data["citations"] and {c["id"] for c in data["citations"]} <= hit_ids
    enum = ollama.bodies("/api/chat")[-1]["format"]["properties"]["citations"]["items"]["properties"]["id"]["enum"]
    assert len(enum) == len(data["hits"])


def test_prompt_injection_cannot_cite_outside_the_retrieved_set(index, ollama) -> None:
    data = _json(_ask(index, "What should be cited? secret.pdf", "--json"))
    sources = {h["source"] for h in data["hits"]}
    assert {c["source"] for c in data["citations"]} <= sources
    assert "secret.pdf" not in " ".join(c["source"] for c in data["citations"])


def test_scripted_reply_citing_a_foreign_id_is_an_error_not_a_citation(index, ollama) -> None:
    ollama.chat_reply = [
        json.dumps({"answerable": True, "answer": "x", "citations": [{"id": "secret.pdf", "quote": "q"}]})
    ] * 2
    result = _ask(index, QUESTION)
    assert result.exit_code == 2 and "answer schema" in result.stderr
    assert "secret.pdf" not in result.stdout


def test_strict_drops_unverified_quotes(index, ollama) -> None:
    reply = json.dumps(
        {
            "answerable": True,
            "answer": "Vectors.",
            "citations": [{"id": "S1", "quote": "Zebras are striped horses.", "claim": "Vectors."}],
        }
    )
    ollama.chat_reply = [reply] * 3
    loose = _json(_ask(index, QUESTION, "--json"))
    assert [c["verified"] for c in loose["citations"]] == [False]
    assert "(unverified)" in _ask(index, QUESTION).stdout
    strict = _json(_ask(index, QUESTION, "--json", "--strict"))
    assert strict["citations"] == []


def test_low_similarity_abstains_without_calling_the_model(index, ollama) -> None:
    data = _json(_ask(index, QUESTION, "--json", "--min-score", "0.9999"))
    assert data["mode"] == "abstained" and data["answerable"] is False
    assert data["answer"] == "Not found in the indexed documents."
    assert ollama.count("/api/chat") == 0


def test_model_saying_unanswerable_is_reported(index, ollama) -> None:
    ollama.chat_reply = [json.dumps({"answerable": False, "answer": "The sources do not say.", "citations": []})]
    # Floor off so the question reaches the model: this tests the model's own "not answerable".
    data = _json(_ask(index, "Who won the 1998 World Cup?", "--json", "--min-score", "0"))
    assert data["mode"] == "generative" and data["answerable"] is False and data["citations"] == []


def test_a_declined_answer_lists_the_closest_passages(index, ollama) -> None:
    ollama.chat_reply = [json.dumps({"answerable": False, "citations": []})]
    result = _ask(index, QUESTION, "--min-score", "0")
    assert result.exit_code == 0, result.output
    answer, _, closest = result.stdout.partition(f"\n{CLOSEST_HEADING}\n")
    assert "do not answer" in answer and "Sources:" not in answer
    assert closest.startswith("[1] docs/") and "embed endpoint returns" in closest
    ollama.chat_reply = [json.dumps({"answerable": False, "citations": []})]
    data = _json(_ask(index, QUESTION, "--json", "--min-score", "0"))
    assert data["citations"] == [] and data["closest"] and all(c["path"] and c["verified"] for c in data["closest"])
    abstained = _json(_ask(index, QUESTION, "--json", "--min-score", "0.9999"))  # the floor: the model read nothing
    assert abstained["mode"] == "abstained" and abstained["closest"] == []


def test_filters_reach_the_hits(index) -> None:
    data = _json(_ask(index, QUESTION, "--json", "--type", "text"))
    assert {h["source"] for h in data["hits"]} == {"docs/notes.txt"}
    data = _json(_ask(index, "嵌入接口返回什么？", "--json", "--path", "zh/*", "--mode", "bm25"))
    assert {h["source"] for h in data["hits"]} == {"docs/zh/指南.md"}


def test_stream_prints_text_then_sources(index, ollama) -> None:
    result = _ask(index, QUESTION, "--stream")
    assert result.exit_code == 0, result.output
    assert "\nSources:\n[1] " in result.stdout
    assert ollama.bodies("/api/chat")[-1]["stream"] is True
    lines = _ask(index, QUESTION, "--stream", "--json").stdout.splitlines()
    objects = [json.loads(line) for line in lines]
    assert all("delta" in o for o in objects[:-1]) and objects[-1]["mode"] == "generative"
    # the deltas are the claims as generated; the final answer adds the verified [n] markers
    assert "".join(o["delta"] for o in objects[:-1]) == " ".join(c["text"] for c in objects[-1]["claims"])


def test_chat_model_none_gives_an_extractive_answer(index, ollama) -> None:
    result = _ask(index, QUESTION, "--chat-model", "none")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("(extractive) ") and "\nSources:\n[1] docs/" in result.stdout
    assert ollama.count("/api/chat") == 0


def test_ollama_down_falls_back_to_extractive(index, ollama) -> None:
    ollama.stop()
    # The index holds the fake server's hashed vectors; with Ollama down the query is embedded by the real built-in
    # all-minilm, so dense cosines mean nothing here and the abstention floor is turned off for this test.
    data = _json(_ask(index, QUESTION, "--json", "--min-score", "0"))
    assert data["mode"] == "extractive" and data["citations"]
    assert {c["id"] for c in data["citations"]} <= {h["id"] for h in data["hits"]}
    assert all(c["verified"] for c in data["citations"])
    assert any("ollama serve" in w for w in data["warnings"])


def test_missing_chat_model_says_how_to_pull_it(index, ollama) -> None:
    ollama.missing_models = {"llama3.2"}
    result = _ask(index, QUESTION)
    assert result.exit_code == 0, result.output
    assert "ollama pull llama3.2" in result.stderr and result.stdout.startswith("(extractive) ")


def test_model_ignoring_format_exits_2_with_a_clear_message(index, ollama) -> None:
    ollama.ignore_format = True
    result = _ask(index, QUESTION)
    assert result.exit_code == 2 and "structured outputs" in result.stderr
    data = json.loads(_ask(index, QUESTION, "--json").stdout)
    assert data["error"] == "ModelOutputError"


def test_prompts_folder_overrides_the_system_prompt(index, ollama, tmp_path) -> None:
    folder = tmp_path / "my_prompts"
    folder.mkdir()
    (folder / "system.txt").write_text("Answer in one word. Reply as JSON.", encoding="utf-8")
    assert _ask(index, QUESTION, "--prompts", str(folder)).exit_code == 0
    assert ollama.bodies("/api/chat")[-1]["messages"][0]["content"] == "Answer in one word. Reply as JSON."


def test_no_index_is_a_clear_error(tmp_path, ollama) -> None:
    result = _ask(str(tmp_path / "empty"), QUESTION)
    assert result.exit_code == 2 and "rag index" in result.stderr


def test_stream_prints_abstentions_and_labels_extractive_answers(index) -> None:
    from rag.cli._answers import EXTRACTIVE_NOTE

    abstained = _ask(index, QUESTION, "--stream", "--min-score", "0.9999")
    assert abstained.exit_code == 0 and abstained.stdout.strip() == "Not found in the indexed documents."
    extractive = _ask(index, QUESTION, "--stream", "--chat-model", "none")
    assert extractive.exit_code == 0 and EXTRACTIVE_NOTE in extractive.stdout and "Sources:" in extractive.stdout


def test_stream_shows_the_verified_answer_when_the_checks_changed_the_streamed_text(index, ollama) -> None:
    ollama.chat_reply = restating_reply
    result = _ask(index, RESTATING_QUESTION, "--stream")
    assert result.exit_code == 0, result.output
    streamed, _, rest = result.stdout.partition(REVISED_HEADING)
    assert "returns it for each input string" in streamed
    assert f"{VERIFIED_SENTENCE[:-1]} [1]." in rest
    assert "only restated the question" in result.stderr
