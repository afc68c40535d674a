"""The ASCII shortcut of `tokenize` gives the same tokens as the general (NFKC, casefold) path."""

from __future__ import annotations

import random
import string

import pytest

from rag.retrieve.text import tokenize


def _texts() -> list[str]:
    rnd = random.Random(13)
    made = ["Queries QUERIES the_Documents it's  US buses ies aies 12abc", "A.B-C/d:e;f  \n\tGHI's", ""]
    made += ["".join(rnd.choice(string.printable) for _ in range(200)) for _ in range(300)]
    return made


@pytest.mark.parametrize("stem", [False, True])
@pytest.mark.parametrize("stopwords", [False, True])
def test_ascii_text_tokenizes_as_the_general_path_does(stem: bool, stopwords: bool) -> None:
    for text in _texts():
        fast = tokenize(text, stem=stem, stopwords=stopwords)
        general = tokenize(text + " ü", stem=stem, stopwords=stopwords)  # one non-ASCII word forces the general path
        assert general[-1] == "ü" and fast == general[:-1], text
