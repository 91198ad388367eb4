"""Errors callers of the event log are expected to handle."""

from __future__ import annotations


class ConcurrencyError(Exception):
    """The stream is not at the expected version: someone else appended first.

    Reload the stream, decide again and retry (`decider.handle` does), or answer 409.
    """

    def __init__(self, stream_id: str, expected_version: int | str) -> None:
        super().__init__(f"stream {stream_id!r} is not at version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


class MigrationError(Exception):
    """A migration source is malformed, or an applied migration file was edited."""
