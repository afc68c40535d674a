"""Comparing answer texts (a streamed answer has no [n] markers; the final `Answer.answer` adds them), and a fake
reply whose claim the checks revise."""

from __future__ import annotations

import json
import re

_MARKERS = re.compile(r" ?\[\d+(?:\s*,\s*\d+)*\]")


def unmarked(text: str) -> str:
    """`text` without its inline citation markers ("... string [1]." -> "... string.").

    >>> unmarked("Vectors, one per input [1, 2]. Done [3].")
    'Vectors, one per input. Done.'
    """
    return _MARKERS.sub("", text)


RESTATING_QUESTION = "What does the embed endpoint return for each input string?"
"""A question over `support.hits.DOCS` that `restating_reply` answers by restating it."""
VERIFIED_SENTENCE = "The embed endpoint returns a list of embeddings, one vector per input string."
"""The sentence of docs/api.md that `restating_reply`'s quote sits in."""


def restating_reply(body: dict) -> str:
    """A fake model reply (a `chat_reply` callable) whose one claim restates `RESTATING_QUESTION`, citing the
    source from docs/api.md with a verbatim quote: the checks replace the claim by `VERIFIED_SENTENCE`."""
    user = body["messages"][-1]["content"]
    label = next(m for m in re.findall(r"\[(S\d+)\] \(([^)]*)\)", user) if "api.md" in m[1])[0]
    claim = "The embed endpoint returns it for each input string."
    item = {"id": label, "claim": claim, "quote": "one vector per input string"}
    return json.dumps({"citations": [item], "answerable": True})
