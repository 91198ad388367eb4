"""The event store: append with optimistic concurrency (events + outbox in one statement), load.

An append is ONE SQL statement (data-modifying CTEs), so it is atomic on its
own and costs one round trip on an autocommit connection; inside a caller's
transaction it commits or rolls back with the caller's other writes (inline
projections).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import psycopg
import psycopg.errors
from psycopg.types.json import set_json_loads

from mediaplane.contracts import Event, Registry
from mediaplane.eventlog import codec
from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.errors import ConcurrencyError
from mediaplane.eventlog.group_commit import GroupCommit
from mediaplane.eventlog.records import LoadedStream

ANY: Final = "any"
"""Expected version meaning "append after whatever the stream holds" (no conflict check)."""

ExpectedVersion = int | Literal["any"]

_ANY_ATTEMPTS = 10

# `head` is the version the new events follow, or no row when the stream is
# not where the caller expects it. It also refuses a writer whose transaction
# is older than the one that wrote the head: a reader that follows the log in
# transaction order (the safe order to tail it in) then sees every stream in
# version order.
_HEAD_AT_EXPECTED = """
WITH {before}head AS (
    SELECT %(expected)s::int AS version
    WHERE (%(expected)s::int = 0 OR EXISTS (
        SELECT 1 FROM event_log
        WHERE stream_id = %(stream_id)s AND version = %(expected)s::int
          AND transaction_id <= pg_current_xact_id()
    )){admitted}
)"""

_HEAD_AT_LATEST = """
WITH {before}latest AS (
    SELECT version, transaction_id FROM event_log
    WHERE stream_id = %(stream_id)s ORDER BY version DESC LIMIT 1
), head AS (
    SELECT coalesce((SELECT version FROM latest), 0) AS version
    WHERE NOT EXISTS (SELECT 1 FROM latest WHERE transaction_id > pg_current_xact_id()){admitted}
)"""

# The new rows. `$n` is each event's 1-based place in the append. One event
# (the usual command result) gets scalar parameters: cheaper to send and plan
# than one-element arrays.
_ONE_EVENT = """,
appended AS (
    INSERT INTO event_log (stream_id, version, event_id, type, data, metadata)
    SELECT %(stream_id)s, head.version + 1, %(event_id)s, %(type)s, %(data)s, %(metadata)s
    FROM head
    RETURNING position, version
), queued AS (
    INSERT INTO outbox (position, stream_id, subject)
    SELECT position, %(stream_id)s, %(subject)s FROM appended
)"""

_MANY_EVENTS = """,
appended AS (
    INSERT INTO event_log (stream_id, version, event_id, type, data, metadata)
    SELECT %(stream_id)s, head.version + e.n, e.event_id, e.type, e.data, e.metadata
    FROM head,
         unnest(%(event_id)s::uuid[], %(type)s::text[], %(data)s::jsonb[], %(metadata)s::jsonb[])
             WITH ORDINALITY AS e(event_id, type, data, metadata, n)
    ORDER BY e.n
    RETURNING position, version
), queued AS (
    INSERT INTO outbox (position, stream_id, subject)
    SELECT appended.position, %(stream_id)s, (%(subject)s::text[])[appended.version - head.version]
    FROM appended, head
)"""

# Wake sleeping relays only when the outbox was empty: NOTIFY serializes
# committing transactions (Postgres takes a database-wide lock at commit to
# keep the queue in commit order), which would cap concurrent appends at one
# commit at a time. A non-empty outbox means a relay is draining it, and a
# relay re-claims without sleeping until it finds nothing, then looks again
# after 5, 10, 20 ... ms: an append that saw the last round's rows may commit
# just after the relay found nothing (see relay.py `_lane`).
_WAKE_AND_RETURN = """{after},
wake AS (
    SELECT pg_notify('eventlog_outbox', '') WHERE NOT EXISTS (SELECT FROM outbox)
)
SELECT (SELECT max(version) FROM appended), (SELECT count(*) FROM wake){result}"""


@dataclass(frozen=True, kw_only=True)
class AppendGuard:
    """A condition and writes that share the append's statement: atomic, one round trip.

    `before`: CTEs (`name AS (...)`, comma separated) ending with one named
    `admitted`; the events are appended only when it yields a row (e.g. a quota
    checked under a lock). `after`: CTEs that read `appended`, so they write
    only together with the events (e.g. an inline projection row). `result`: a
    SQL select list returned with the outcome (e.g. what a refusal is explained
    with). `lock`: what `before` locks (e.g. the owner whose quota it checks): a
    group commit sends its statements in that order (group_commit.py).
    Placeholders are named (`%(name)s`) and come from `params`; the store's own
    names (stream_id, expected, event_id, type, data, metadata, subject) are
    taken.
    """

    before: str
    after: str = ""
    result: str = "NULL"
    params: Mapping[str, Any] = field(default_factory=dict)
    lock: str = ""


@dataclass(frozen=True, kw_only=True)
class GuardedAppend:
    """The outcome of `EventStore.append_guarded`."""

    admitted: bool
    version: int | None
    """The stream's new version, None when not admitted."""
    result: tuple[Any, ...]
    """The guard's `result` columns."""


@functools.cache
def _statement(any_version: bool, many: bool, guard: tuple[str, str, str] | None = None) -> bytes:
    """The append statement by (expected version is ANY, more than one event, guard SQL)."""
    head = _HEAD_AT_LATEST if any_version else _HEAD_AT_EXPECTED
    body = _MANY_EVENTS if many else _ONE_EVENT
    before, admitted, after, result = "", "", "", ""
    if guard is not None:
        before = f"{guard[0]},\n"
        admitted = " AND EXISTS (SELECT FROM admitted)"
        after = f",\n{guard[1]}" if guard[1] else ""
        result = f", (SELECT count(*) FROM admitted), {guard[2]}"
    return (
        head.format(before=before, admitted=admitted)
        + body
        + _WAKE_AND_RETURN.format(after=after, result=result)
    ).encode()


_LOAD = b"""
SELECT version, type, event_id, data, metadata FROM event_log
WHERE stream_id = %s ORDER BY version
"""

_VERSION_CONSTRAINT = "event_log_stream_version_key"


class EventStore:
    """Streams of events in Postgres, decoded (and upcast) through `registry`.

    With `group_commit`, an append that joins no caller's transaction is sent in
    a group with those of concurrent callers (group_commit.py): for an API
    under load, whose commands each append alone.
    """

    def __init__(
        self, pool: Pool, registry: Registry, *, group_commit: GroupCommit | None = None
    ) -> None:
        self.pool = pool
        self.registry = registry
        self._group_commit = group_commit

    async def append(
        self,
        stream_id: str,
        expected_version: ExpectedVersion,
        events: Sequence[Event],
        *,
        metadata: Mapping[str, str] | None = None,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> int:
        """Append `events` to the stream and queue them for the relay; returns the new version.

        `expected_version`: 0 means the stream must not exist yet, N means it
        must be at version N, `ANY` appends after its current end. A stream
        elsewhere raises `ConcurrencyError`. `metadata` adds string keys to
        every event's metadata; the current span's W3C trace context is added
        when there is one and `metadata` has no `traceparent`. With `conn`, the append
        joins that connection's transaction (if any); otherwise it commits alone.
        """
        params = self._params(stream_id, expected_version, events, metadata)
        query = _statement(expected_version == ANY, len(events) > 1)

        async def attempt() -> int:
            row = await self._row(query, params, stream_id, expected_version, conn, stream_id)
            if row[0] is None:
                raise ConcurrencyError(stream_id, expected_version)
            version: int = row[0]
            return version

        if expected_version != ANY or conn is not None:
            # In a caller's transaction a failed statement aborts it: no retry is possible here.
            return await attempt()
        for _ in range(_ANY_ATTEMPTS - 1):
            try:
                return await attempt()
            except ConcurrencyError:
                continue  # another writer took the same version: take the next one
        return await attempt()

    async def append_guarded(
        self,
        stream_id: str,
        expected_version: ExpectedVersion,
        events: Sequence[Event],
        guard: AppendGuard,
        *,
        metadata: Mapping[str, str] | None = None,
        conn: psycopg.AsyncConnection[Any] | None = None,
    ) -> GuardedAppend:
        """`append`, in the same statement as `guard`: only when it admits, with its writes.

        Not admitted: nothing is appended or written by `after`, and the
        result says so. A stream elsewhere raises `ConcurrencyError` (no retry,
        not even for `ANY`: the guard's reads would be stale).
        """
        params = self._params(stream_id, expected_version, events, metadata)
        taken = params.keys() & guard.params.keys()
        if taken:
            raise ValueError(f"guard parameters clash with the store's: {sorted(taken)}")
        params.update(guard.params)
        query = _statement(
            expected_version == ANY, len(events) > 1, (guard.before, guard.after, guard.result)
        )
        row = await self._row(
            query, params, stream_id, expected_version, conn, guard.lock or stream_id
        )
        version, _, admitted, *result = row
        if not admitted:
            return GuardedAppend(admitted=False, version=None, result=tuple(result))
        if version is None:
            raise ConcurrencyError(stream_id, expected_version)
        return GuardedAppend(admitted=True, version=version, result=tuple(result))

    async def load(
        self, stream_id: str, *, conn: psycopg.AsyncConnection[Any] | None = None
    ) -> LoadedStream:
        """Every event of the stream, upcast to the newest versions, and the stream's version."""
        events: list[Event] = []
        version = 0
        async with self._connection(conn) as connection, connection.cursor() as cursor:
            set_json_loads(codec.loads, cursor)
            await cursor.execute(_LOAD, (stream_id,))
            async for row_version, type_, event_id, data, event_metadata in cursor:
                version = row_version
                events.append(
                    codec.decode_event(
                        self.registry,
                        type_=type_,
                        event_id=event_id,
                        stream_id=stream_id,
                        data=data,
                        metadata=event_metadata,
                    )
                )
        return LoadedStream(stream_id=stream_id, version=version, events=events)

    def _params(
        self,
        stream_id: str,
        expected_version: ExpectedVersion,
        events: Sequence[Event],
        metadata: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        if not events:
            raise ValueError("append needs at least one event")
        if isinstance(expected_version, int) and expected_version < 0:
            raise ValueError(f"expected_version must be >= 0 or ANY, got {expected_version}")
        metadata = codec.with_trace_context(metadata)
        columns: dict[str, list[Any]] = {
            "event_id": [],
            "type": [],
            "data": [],
            "metadata": [],
            "subject": [],
        }
        for event in events:
            if event.stream_id != stream_id:
                raise ValueError(
                    f"event {event.event_id} belongs to {event.stream_id!r}, not {stream_id!r}"
                )
            event_data, event_metadata = codec.split_event(self.registry, event, metadata)
            columns["event_id"].append(event.event_id)
            columns["type"].append(event.tag())
            columns["data"].append(codec.jsonb(event_data))
            columns["metadata"].append(codec.jsonb(event_metadata))
            columns["subject"].append(self.registry.subject_of(event))
        params: dict[str, Any] = (
            columns if len(events) > 1 else {name: values[0] for name, values in columns.items()}
        )
        params["stream_id"] = stream_id
        params["expected"] = expected_version if isinstance(expected_version, int) else None
        return params

    async def _row(
        self,
        query: bytes,
        params: dict[str, Any],
        stream_id: str,
        expected_version: ExpectedVersion,
        conn: psycopg.AsyncConnection[Any] | None,
        order: str,
    ) -> tuple[Any, ...]:
        try:
            if conn is None and self._group_commit is not None:
                return await self._group_commit.row(query, params, order=order)
            async with self._connection(conn) as connection:
                cursor = await connection.execute(query, params)
                row = await cursor.fetchone()
        except psycopg.errors.UniqueViolation as error:
            if error.diag.constraint_name == _VERSION_CONSTRAINT:
                raise ConcurrencyError(stream_id, expected_version) from error
            raise
        assert row is not None  # the statement always returns one row
        return tuple(row)

    @asynccontextmanager
    async def _connection(
        self, conn: psycopg.AsyncConnection[Any] | None
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if conn is not None:
            yield conn
            return
        async with self.pool.connection() as pooled:
            yield pooled
