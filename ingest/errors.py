"""Errors of the ingest stage (files -> chunks)."""

from __future__ import annotations


class IngestError(Exception):
    """A file or folder cannot be read. `.path` names it, `.reason` says why in a few words."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
