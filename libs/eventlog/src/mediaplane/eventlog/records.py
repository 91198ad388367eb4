"""What reading the event log returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediaplane.contracts import Event


@dataclass(frozen=True)
class RecordedEvent:
    """An event as stored: upcast to its newest version, with its place in the log."""

    position: int
    stream_id: str
    version: int
    recorded_at: datetime
    event: Event
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedStream:
    """Every event of a stream, in version order, and the version to expect when appending."""

    stream_id: str
    version: int
    events: list[Event]
