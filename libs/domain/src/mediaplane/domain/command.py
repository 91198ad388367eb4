"""What one command's events share: one `now`, one cause, one source of event ids.

The application layer reads its clock once per command and passes the time
in; a decider takes both the business times it computes (`expires_at`) and
the events' `occurred_at` from `now`, so they can never disagree, and tests
fix both with one value.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from mediaplane.contracts import Event, EventContext, new_event, new_event_id

E = TypeVar("E", bound=Event)


@dataclass(frozen=True, kw_only=True)
class CommandContext:
    now: datetime
    """The command's time: every event it produces occurred at it."""
    cause: EventContext
    """Who produces the events and why (correlation and causation ids)."""
    new_id: Callable[[], uuid.UUID] = new_event_id
    """Where event ids come from (UUIDv7 unless a test injects its own)."""

    def event(self, cls: type[E], *, stream_id: str, **fields: Any) -> E:
        """A new event of `cls` on `stream_id`, stamped with this command's time and cause."""
        return new_event(
            cls,
            stream_id=stream_id,
            context=self.cause,
            occurred_at=self.now,
            event_id=self.new_id(),
            **fields,
        )

    def at(self, now: datetime) -> CommandContext:
        """The same cause and id source at another time."""
        return replace(self, now=now)
