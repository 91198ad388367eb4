"""How long operations report progress (the CLI draws it with rich; the SDK needs nothing)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, phase: str, total: int, completed: int = 0) -> None:
        """A phase begins (`hashing`, `uploading`, `checking`, `downloading`) over `total`
        bytes, `completed` of which are already done (resumed work)."""

    def advance(self, amount: int) -> None:
        """`amount` more bytes are done; negative when a failed attempt is retried."""


class NoProgress:
    def start(self, phase: str, total: int, completed: int = 0) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass
