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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from mediaplane.contracts import headers

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
SELECT o.position, o.stream_id, o.subject, e.event_id::text, e.type,
       -- The event as appended (its original version), built here: decoding and
       -- re-encoding every payload in Python was most of the relay's CPU time.
       (e.data || jsonb_build_object(
           'type', e.type, 'event_id', e.event_id, 'stream_id', o.stream_id,
           'occurred_at', e.metadata->'occurred_at', 'producer', e.metadata->'producer',
           'correlation_id', e.metadata->'correlation_id',
           'causation_id', e.metadata->'causation_id'))::text,
       e.metadata->>'producer', e.metadata->>'correlation_id', e.metadata->>'causation_id',
       e.metadata->>'traceparent', e.metadata->>'tracestate', e.recorded_at
FROM outbox o
JOIN event_log e ON e.position = o.position
-- IN, not a join with `heads`: on a freshly filled outbox (no statistics yet)
-- the planner joined by a nested loop over every pair (500 x 500 rows, 30 ms
-- per claim instead of 9).
WHERE o.stream_id IN (SELECT stream_id FROM heads)
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
    cursor = await conn.execute(_CLAIM, {"limit": limit})
    return [to_message(*row) for row in await cursor.fetchall()]


async def delete(conn: psycopg.AsyncConnection[Any], positions: Sequence[int]) -> None:
    if positions:
        # Unprepared: the outbox is near empty when the plan would be cached and holds
        # a backlog after an outage, when a cached scan of all of it per batch would
        # slow the drain (docs/service-conventions.md, "Array keys").
        await conn.execute(_DELETE, (list(positions),), prepare=False)


def to_message(
    position: int,
    stream_id: str,
    subject: str,
    event_id: str,
    type_: str,
    body: str,
    producer: str | None,
    correlation_id: str | None,
    causation_id: str | None,
    traceparent: str | None,
    tracestate: str | None,
    recorded_at: datetime,
) -> OutboxMessage:
    """The JetStream message of an event: its original JSON, and the envelope in headers."""
    message_headers = {
        headers.MSG_ID: event_id,  # JetStream drops a re-publish after a relay crash
        headers.EVENT_TYPE: type_,
        headers.STREAM_ID: stream_id,
        headers.PRODUCER: producer or "",
        headers.CORRELATION_ID: correlation_id or "",
    }
    if causation_id:
        message_headers[headers.CAUSATION_ID] = causation_id
    if traceparent:
        message_headers["traceparent"] = traceparent
    if tracestate:
        message_headers["tracestate"] = tracestate
    return OutboxMessage(position, stream_id, subject, body.encode(), message_headers, recorded_at)


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
