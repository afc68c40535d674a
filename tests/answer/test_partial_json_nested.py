"""Streaming every item's "claim" of a structured reply, whatever way the JSON text is split."""

from __future__ import annotations

import json

import pytest

from rag.answer.partial_json import StringFieldStream


@pytest.mark.parametrize("size", [1, 2, 5, 11])
def test_nested_field_stream_joins_every_claim(size: int) -> None:
    doc = json.dumps(
        {
            "citations": [
                {"id": "S1", "quote": 'a "claim": x', "claim": "Erste é."},
                {"id": "S2", "quote": "q", "claim": "第二 😀"},
            ],
            "answerable": True,
        }
    )
    field = StringFieldStream("claim", nested=True)
    got = "".join(field.feed(doc[i : i + size]) for i in range(0, len(doc), size))
    assert got == "Erste é. 第二 😀" and field.done


def test_top_level_stream_ignores_nested_fields() -> None:
    doc = json.dumps({"citations": [{"claim": "inner"}], "claim": "outer"})
    field = StringFieldStream("claim")
    assert "".join(field.feed(c) for c in doc) == "outer"
