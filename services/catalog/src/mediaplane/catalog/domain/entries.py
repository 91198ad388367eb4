"""What the ledger keeps of a consumed message, read from its body alone (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import msgspec

from mediaplane.contracts import (
    Event,
    Registry,
    TagCreated,
    TagCreatedV2,
    UnknownEventType,
    names_object,
    object_reference_problem,
)


class PoisonMessage(ValueError):
    """A body no retry can fix: not JSON, no envelope, or a known type with invalid fields."""

    kind = "undecodable"


class UntrustedReference(PoisonMessage):
    """A valid event naming an object it must not: another owner's key, or a foreign bucket.

    The catalog presigns downloads from what file events name, so such an
    event is dead-lettered instead of recorded.
    """

    kind = "poison"


class _Envelope(msgspec.Struct):
    """The fields the ledger indexes; unknown event types have them too (the envelope)."""

    type: str
    event_id: uuid.UUID
    occurred_at: datetime
    stream_id: str
    file_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    name: str | None = None


_envelope = msgspec.json.Decoder(_Envelope)
# Events whose `name` is a tag (the ledger's `tag` column).
_TAG_TYPES = frozenset({TagCreated.tag(), TagCreatedV2.tag()})


@dataclass(frozen=True, kw_only=True, slots=True)
class LedgerEntry:
    """One event as the ledger stores it: the original body plus the columns it is found by."""

    event_id: uuid.UUID
    type: str
    known: bool
    stream_id: str
    occurred_at: datetime
    file_id: uuid.UUID | None
    session_id: uuid.UUID | None
    tag: str | None
    subject: str
    stream_sequence: int | None
    body: str


def ledger_entry(
    registry: Registry, subject: str, data: bytes, stream_sequence: int | None = None
) -> LedgerEntry:
    """Read a message body; raises PoisonMessage when it is not an event.

    A type the registry does not know is kept (`known=False`): a newer
    producer's event belongs in the ledger, and a rebuild after an upgrade
    projects it. A known type must decode, so the SQL projections can trust
    its fields.
    """
    return _read(registry, subject, data, stream_sequence)[0]


def trusted_ledger_entry(
    registry: Registry,
    subject: str,
    data: bytes,
    stream_sequence: int | None = None,
    *,
    originals: Collection[str],
) -> LedgerEntry:
    """`ledger_entry` for what comes off the bus: an event naming an object must name
    one in `originals`, under its owner's prefix (raises UntrustedReference)."""
    entry, event = _read(registry, subject, data, stream_sequence)
    if names_object(event) and (problem := object_reference_problem(event, originals)):
        raise UntrustedReference(problem)
    return entry


def _read(
    registry: Registry, subject: str, data: bytes, stream_sequence: int | None
) -> tuple[LedgerEntry, Event | None]:
    try:
        envelope = _envelope.decode(data)
    except msgspec.DecodeError as exc:
        raise PoisonMessage(f"no event envelope: {exc}") from None
    if envelope.occurred_at.tzinfo is None:
        raise PoisonMessage("occurred_at has no time zone")
    event: Event | None
    try:
        event = registry.decode(data)
    except UnknownEventType:
        event = None
    except (msgspec.DecodeError, ValueError) as exc:
        raise PoisonMessage(f"invalid {envelope.type}: {exc}") from None
    entry = LedgerEntry(
        event_id=envelope.event_id,
        type=envelope.type,
        known=event is not None,
        stream_id=envelope.stream_id,
        occurred_at=envelope.occurred_at,
        file_id=envelope.file_id,
        session_id=envelope.session_id,
        tag=envelope.name if envelope.type in _TAG_TYPES else None,
        subject=subject,
        stream_sequence=stream_sequence,
        body=data.decode(),
    )
    return entry, event
