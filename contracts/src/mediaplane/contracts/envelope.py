"""The envelope every event carries, and how a new event gets one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from uuid_utils.compat import uuid7

Sha256Hex = Annotated[
    str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="lowercase hex SHA-256")
]
Bytes = Annotated[int, msgspec.Meta(ge=0, description="size in bytes")]
Seconds = Annotated[float, msgspec.Meta(ge=0, description="duration in seconds")]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every event: the common envelope.

    The tag (the `type` field) names the event and its version, e.g.
    `file.uploaded.v1`; the JetStream subject is `media.<tag>`.
    """

    event_id: uuid.UUID
    occurred_at: datetime
    stream_id: str
    producer: str
    correlation_id: str
    causation_id: str | None = None

    @classmethod
    def tag(cls) -> str:
        tag = cls.__struct_config__.tag
        if not isinstance(tag, str):
            raise TypeError(f"{cls.__name__} has no string tag")
        return tag


E = TypeVar("E", bound=Event)


@dataclass(frozen=True, kw_only=True)
class EventContext:
    """Who produces the next events and why (the message that caused them)."""

    producer: str
    correlation_id: str
    causation_id: str | None = None

    def caused_by(self, event: Event) -> EventContext:
        """The context of events that react to `event`: same correlation, caused by it."""
        return EventContext(
            producer=self.producer,
            correlation_id=event.correlation_id,
            causation_id=str(event.event_id),
        )


def new_event_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so ids sort roughly by creation."""
    return uuid7()


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event(cls: type[E], *, stream_id: str, context: EventContext, **fields: Any) -> E:
    """Build an event with a fresh envelope (id and time) from `context`."""
    return cls(
        event_id=new_event_id(),
        occurred_at=utc_now(),
        stream_id=stream_id,
        producer=context.producer,
        correlation_id=context.correlation_id,
        causation_id=context.causation_id,
        **fields,
    )
