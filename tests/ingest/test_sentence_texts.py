"""Which sentences of a chunk get their own vector."""

from __future__ import annotations

from ingest.sentences import sentence_texts


def test_a_chunk_of_one_sentence_gets_none() -> None:
    assert sentence_texts("Only one sentence here.") == []
    assert sentence_texts("One sentence. ?") == [], "a piece under 3 characters is not a sentence"


def test_each_sentence_of_a_chunk_in_order() -> None:
    text = "Rollo led the Norse. He took Normandy in 911, e.g. Rouen.\n\n- a list item"
    assert sentence_texts(text) == ["Rollo led the Norse.", "He took Normandy in 911, e.g. Rouen.", "a list item"]


def test_more_sentences_than_the_cap_are_grouped_into_neighbouring_runs() -> None:
    sentences = [f"Sentence number {i} ends here." for i in range(10)]
    runs = sentence_texts(" ".join(sentences), most=4)
    assert runs == [
        " ".join(sentences[0:3]),
        " ".join(sentences[3:6]),
        " ".join(sentences[6:8]),
        " ".join(sentences[8:10]),
    ]
