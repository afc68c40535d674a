"""The project's vocabularies, each defined once: a `Literal` type for signatures and a tuple for validation and
`click.Choice`.

>>> RETRIEVAL_MODES
('hybrid', 'dense', 'bm25')
>>> check_choice("bm25", RETRIEVAL_MODES, "mode")
'bm25'
"""

from __future__ import annotations

from typing import Literal, TypeVar, get_args

RetrievalMode = Literal["hybrid", "dense", "bm25"]
"""How chunks are found: fused dense + BM25, vectors only, or keywords only."""
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)

AnswerMode = Literal["generative", "extractive", "abstained"]
"""How an answer was made: by the chat model, from quoted sentences, or declined."""
ANSWER_MODES: tuple[AnswerMode, ...] = get_args(AnswerMode)

Fusion = Literal["rrf", "zscore", "minmax"]
"""How the dense and BM25 legs are combined: reciprocal rank fusion, or z-score / min-max score fusion."""
FUSIONS: tuple[Fusion, ...] = get_args(Fusion)

EmbedBackend = Literal["auto", "ollama", "builtin"]
"""Where embeddings come from: Ollama when it serves the model else built in, Ollama only, or in-process only."""
EMBED_BACKENDS: tuple[EmbedBackend, ...] = get_args(EmbedBackend)

FileType = Literal["pdf", "markdown", "html", "text", "docx", "pptx", "xlsx", "csv", "epub", "odt", "image"]
"""The kinds of document ingest reads (what `--type` filters on)."""
FILE_TYPES: tuple[FileType, ...] = get_args(FileType)

FileStatus = Literal["added", "updated", "unchanged", "removed", "skipped", "failed", "ignored"]
"""What an index run did with one file ("ignored": seen by the walk, not a type we index)."""
FILE_STATUSES: tuple[FileStatus, ...] = get_args(FileStatus)

AnswerCheck = Literal["off", "quote", "span"]
"""The second check after a generative answer: none; one yes/no call "does the quoted evidence answer the question?"
("quote"); or one call asking the model to copy the answering words out of its quoted evidence ("span": an empty or
non-verbatim copy counts as no). A "no" turns the answer into an abstention."""
ANSWER_CHECKS: tuple[AnswerCheck, ...] = get_args(AnswerCheck)

ClaimFlag = Literal["unsupported", "inconsistent", "restated", "link removed"]
"""A problem found in one claim of an answer: no verified quote; a number, date or name its evidence does not
contain; it only restated the question (its text replaced by the sentences it quoted); a URL or image not in its
cited chunks (removed)."""
CLAIM_FLAGS: tuple[ClaimFlag, ...] = get_args(ClaimFlag)

CheckLevel = Literal["ok", "warning", "error"]
"""The outcome of one `rag doctor` check."""
CHECK_LEVELS: tuple[CheckLevel, ...] = get_args(CheckLevel)

NO_CHAT_MODEL = "none"
"""The chat model name that means "no model: extractive answers only"."""

EXIT_OK = 0
"""The command did what was asked (an abstention is a valid answer)."""
EXIT_PARTIAL = 1
"""Done in part: some files skipped (`rag index`), warnings under --strict (`rag doctor`), errors in `rag eval`."""
EXIT_FATAL = 2
"""Nothing useful was done: a usage error, a missing index, an unreachable server, a crash."""
EXIT_INTERRUPTED = 130
"""Stopped by Ctrl-C (128 + SIGINT); finished work is kept."""

_T = TypeVar("_T", bound=str)


def check_choice(value: str, choices: tuple[_T, ...], what: str) -> _T:
    """`value` when it is one of `choices`, else a ValueError that lists them."""
    for choice in choices:
        if value == choice:
            return choice
    raise ValueError(f"{what} must be one of {', '.join(choices)}, not {value!r}")


__all__ = [
    "ANSWER_CHECKS",
    "ANSWER_MODES",
    "CHECK_LEVELS",
    "CLAIM_FLAGS",
    "EMBED_BACKENDS",
    "EXIT_FATAL",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "FILE_STATUSES",
    "FILE_TYPES",
    "FUSIONS",
    "NO_CHAT_MODEL",
    "RETRIEVAL_MODES",
    "AnswerCheck",
    "AnswerMode",
    "CheckLevel",
    "ClaimFlag",
    "EmbedBackend",
    "FileStatus",
    "FileType",
    "Fusion",
    "RetrievalMode",
    "check_choice",
]
