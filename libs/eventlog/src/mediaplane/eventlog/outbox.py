"""Claiming outbox rows for publishing, in an order-preserving way, and turning them into messages.

Per-stream order with several relays: a relay locks only the HEAD row of a
stream (its oldest outbox row) with `FOR UPDATE SKIP LOCKED`, then takes that
head and the rows after it. Another relay never takes a later row of a stream
whose head is locked: for it that row is not a head (the locked head still
exists until the owner commits its delete). So each stream is published by one
relay at a time, oldest first, while different streams spread over relays.
Plain `SKIP LOCKED` on rows would let a second relay publish version 3 while
the first one is still publishing version 2.

Inside a relay, `waves` keeps at most one unacknowledged message per stream:
version N+1 is sent only after JetStream acked version N, so a lost publish
can never let a later version of the same stream land first.

Within a stream, `position` order is version order: version N+1 can only be
inserted once version N is committed (the append checks it), so it always gets
the larger position.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.types.json import set_json_loads

from mediaplane.contracts import headers
from mediaplane.eventlog import codec

_CLAIM = b"""
WITH heads AS (
    SELECT o.stream_id FROM outbox o
    WHERE NOT EXISTS (
        SELECT FROM outbox older WHERE older.stream_id = o.stream_id AND older.position < o.position
    )
    ORDER BY o.position
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
SELECT o.position, o.stream_id, o.subject, e.event_id, e.type, e.data, e.metadata, e.recorded_at
FROM heads
JOIN outbox o USING (stream_id)
JOIN event_log e ON e.position = o.position
ORDER BY o.position
LIMIT %(limit)s
"""

_DELETE = b"DELETE FROM outbox WHERE position = ANY(%s)"


@dataclass(frozen=True)
class OutboxMessage:
    position: int
    stream_id: str
    subject: str
    body: bytes
    headers: dict[str, str]
    recorded_at: datetime


async def claim(conn: psycopg.AsyncConnection[Any], limit: int) -> list[OutboxMessage]:
    """Lock up to `limit` rows (prefixes of streams) until the transaction ends, oldest first."""
    async with conn.cursor() as cursor:
        set_json_loads(codec.loads, cursor)
        await cursor.execute(_CLAIM, {"limit": limit})
        return [
            to_message(
                position=position,
                stream_id=stream_id,
                subject=subject,
                event_id=event_id,
                type_=type_,
                data=data,
                metadata=metadata,
                recorded_at=recorded_at,
            )
            for position, stream_id, subject, event_id, type_, data, metadata, recorded_at in (
                await cursor.fetchall()
            )
        ]


async def delete(conn: psycopg.AsyncConnection[Any], positions: Sequence[int]) -> None:
    if positions:
        await conn.execute(_DELETE, (list(positions),))


def to_message(
    *,
    position: int,
    stream_id: str,
    subject: str,
    event_id: uuid.UUID,
    type_: str,
    data: codec.Payload,
    metadata: codec.Payload,
    recorded_at: datetime,
) -> OutboxMessage:
    """The JetStream message of an event: its original JSON, and the envelope in headers."""
    body = msgspec.json.encode(
        codec.event_payload(
            type_=type_, event_id=event_id, stream_id=stream_id, data=data, metadata=metadata
        )
    )
    message_headers = {
        headers.MSG_ID: str(event_id),  # JetStream drops a re-publish after a relay crash
        headers.EVENT_TYPE: type_,
        headers.STREAM_ID: stream_id,
        headers.PRODUCER: str(metadata.get("producer", "")),
        headers.CORRELATION_ID: str(metadata.get("correlation_id", "")),
    }
    if metadata.get("causation_id"):
        message_headers[headers.CAUSATION_ID] = str(metadata["causation_id"])
    for key in codec.TRACE_KEYS:
        if metadata.get(key):
            message_headers[key] = str(metadata[key])
    return OutboxMessage(position, stream_id, subject, body, message_headers, recorded_at)


def waves(messages: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """Split claimed messages so that each wave holds at most one message per stream, in order.

    Wave k holds the k-th message of every stream: publishing a wave
    concurrently and awaiting all its acks before the next keeps each stream's order.
    """
    result: list[list[OutboxMessage]] = []
    seen: dict[str, int] = {}
    for message in messages:
        index = seen.get(message.stream_id, 0)
        seen[message.stream_id] = index + 1
        if index == len(result):
            result.append([])
        result[index].append(message)
    return result
