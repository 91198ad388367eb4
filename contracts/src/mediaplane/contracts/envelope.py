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
    """A UUIDv7: time-ordered, so ids sort roughly by creation.

    From uuid_utils: the standard library has uuid7 only from Python 3.14
    (docs/adr/0002-pure-domain-and-one-write-path.md).
    """
    return uuid7()


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event(
    cls: type[E],
    *,
    stream_id: str,
    context: EventContext,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
    **fields: Any,
) -> E:
    """Build an event with its envelope from `context`.

    The time is the caller's: a command reads its clock once and stamps every
    event it produces with it (see mediaplane.domain.CommandContext). The id
    is a fresh UUIDv7 unless one is given.
    """
    return cls(
        event_id=new_event_id() if event_id is None else event_id,
        occurred_at=occurred_at,
        stream_id=stream_id,
        producer=context.producer,
        correlation_id=context.correlation_id,
        causation_id=context.causation_id,
        **fields,
    )
