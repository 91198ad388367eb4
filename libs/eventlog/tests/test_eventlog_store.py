"""The event store against a real Postgres: concurrency, atomicity, append-only log, upcasting,
and group commit: shared commits, each caller's own outcome, lock order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg.errors
import pytest
from opentelemetry.sdk.trace import TracerProvider

from mediaplane.contracts import (
    ALL_EVENTS,
    Event,
    EventContext,
    Registry,
    TagCreated,
    new_event,
    utc_now,
)
from mediaplane.devstack.pytest_plugin import advisory_lock_waiters
from mediaplane.eventlog import ANY, AppendGuard, ConcurrencyError, EventStore, Pool
from mediaplane.eventlog.group_commit import GroupCommit

pytestmark = pytest.mark.integration

MakeEvent = Callable[[str, int], TagCreated]


async def _count(pool: Pool, query: str) -> Any:
    async with pool.connection() as conn:
        row = await (await conn.execute(query.encode())).fetchone()
        assert row is not None
        return row[0]


async def test_append_then_load_returns_the_events_and_version(
    store: EventStore, make_event: MakeEvent
) -> None:
    events = [make_event("tag-a", n) for n in range(3)]
    assert await store.append("tag-a", 0, events[:2]) == 2
    assert await store.append("tag-a", 2, events[2:]) == 3
    loaded = await store.load("tag-a")
    assert loaded.version == 3
    assert loaded.events == events


async def test_an_unknown_stream_loads_empty_at_version_0(store: EventStore) -> None:
    loaded = await store.load("nothing-here")
    assert (loaded.version, loaded.events) == (0, [])


async def test_conflicting_appends_raise_concurrency_error(
    store: EventStore, make_event: MakeEvent
) -> None:
    await store.append("tag-a", 0, [make_event("tag-a", 1)])
    with pytest.raises(ConcurrencyError):
        await store.append("tag-a", 0, [make_event("tag-a", 2)])  # must not exist
    await store.append("tag-a", 1, [make_event("tag-a", 2)])
    with pytest.raises(ConcurrencyError):
        await store.append("tag-a", 1, [make_event("tag-a", 3)])  # stale
    with pytest.raises(ConcurrencyError):
        await store.append("tag-a", 5, [make_event("tag-a", 3)])  # ahead: would leave a gap
    assert (await store.load("tag-a")).version == 2


async def test_two_writers_at_the_same_version_one_wins(
    store: EventStore, make_event: MakeEvent
) -> None:
    await store.append("tag-a", 0, [make_event("tag-a", 0)])
    results = await asyncio.gather(
        *(store.append("tag-a", 1, [make_event("tag-a", n)]) for n in range(5)),
        return_exceptions=True,
    )
    assert results.count(2) == 1
    assert sum(isinstance(result, ConcurrencyError) for result in results) == 4


async def test_any_appends_after_the_current_end_even_concurrently(
    store: EventStore, make_event: MakeEvent
) -> None:
    versions = await asyncio.gather(
        *(store.append("tag-a", ANY, [make_event("tag-a", n)]) for n in range(10))
    )
    assert sorted(versions) == list(range(1, 11))


async def test_an_append_writes_event_rows_and_outbox_rows_together(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    await store.append("tag-a", 0, [make_event("tag-a", n) for n in range(3)])
    with pytest.raises(ConcurrencyError):
        await store.append("tag-a", 0, [make_event("tag-a", 9)])
    assert await _count(pool, "SELECT count(*) FROM event_log") == 3
    assert await _count(pool, "SELECT count(*) FROM outbox") == 3
    subject = await _count(pool, "SELECT DISTINCT subject FROM outbox")
    assert subject == store.registry.subject("tag.created.v1")


async def test_an_append_in_a_caller_transaction_rolls_back_with_it(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    async def append_then_fail(conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            await store.append("tag-a", 0, [make_event("tag-a", 1)], conn=conn)
            await conn.execute("INSERT INTO tag_names VALUES ('tag-1')")
            raise RuntimeError("the inline projection failed")

    async with pool.connection() as conn:
        await conn.execute("CREATE TABLE tag_names (name text PRIMARY KEY)")
        with pytest.raises(RuntimeError):
            await append_then_fail(conn)
        async with conn.transaction():
            await store.append("tag-a", 0, [make_event("tag-a", 1)], conn=conn)
            await conn.execute("INSERT INTO tag_names VALUES ('tag-1')")
    assert await _count(pool, "SELECT count(*) FROM tag_names") == 1
    assert await _count(pool, "SELECT count(*) FROM event_log") == 1
    assert await _count(pool, "SELECT count(*) FROM outbox") == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE event_log SET type = 'x'",
        "UPDATE event_log SET data = '{}' WHERE position = -1",
        "DELETE FROM event_log",
        "TRUNCATE event_log",
    ],
)
async def test_the_log_refuses_updates_and_deletes(
    store: EventStore, pool: Pool, make_event: MakeEvent, statement: str
) -> None:
    await store.append("tag-a", 0, [make_event("tag-a", 1)])
    async with pool.connection() as conn:
        with pytest.raises(psycopg.errors.RestrictViolation, match="append-only"):
            await conn.execute(statement.encode())
    assert await _count(pool, "SELECT count(*) FROM event_log WHERE type = 'tag.created.v1'") == 1


async def test_metadata_keeps_the_envelope_and_trace_context(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    event = make_event("tag-a", 1)
    await store.append("tag-a", 0, [event], metadata={"traceparent": "00-aa-bb-01"})
    metadata = await _count(pool, "SELECT metadata FROM event_log")
    assert metadata["traceparent"] == "00-aa-bb-01"
    assert metadata["correlation_id"] == event.correlation_id
    assert metadata["producer"] == event.producer


async def test_an_append_inside_a_span_carries_its_trace_context(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    tracer = TracerProvider().get_tracer("tests")
    await store.append("tag-a", 0, [make_event("tag-a", 0)])  # no span: nothing added
    with tracer.start_as_current_span("request") as span:
        await store.append("tag-a", 1, [make_event("tag-a", 1)])
        context = span.get_span_context()
    rows = await _count(pool, "SELECT json_agg(metadata ORDER BY version) FROM event_log")
    assert "traceparent" not in rows[0]
    trace_id, span_id = rows[1]["traceparent"].split("-")[1:3]
    assert (int(trace_id, 16), int(span_id, 16)) == (context.trace_id, context.span_id)


async def test_an_event_of_another_stream_is_refused(
    store: EventStore, make_event: MakeEvent
) -> None:
    with pytest.raises(ValueError, match="belongs to"):
        await store.append("tag-a", 0, [make_event("tag-b", 1)])


class NoteAddedV1(Event, tag="test.note_added.v1", frozen=True, kw_only=True):
    text: str


class NoteAddedV2(Event, tag="test.note_added.v2", frozen=True, kw_only=True):
    body: str
    title: str


def _upcast_note(payload: dict[str, Any]) -> dict[str, Any]:
    text = payload.pop("text")
    return {**payload, "body": text, "title": text.split("\n", 1)[0]}


async def test_load_upcasts_old_versions_with_the_injected_registry(pool: Pool) -> None:
    old = Registry([*ALL_EVENTS, NoteAddedV1])
    new = Registry([*ALL_EVENTS, NoteAddedV1, NoteAddedV2])
    new.register_upcaster("test.note_added.v1", "test.note_added.v2", _upcast_note)
    context = EventContext(producer="tests", correlation_id="c")
    written = new_event(
        NoteAddedV1, occurred_at=utc_now(), stream_id="note-1", context=context, text="Hello\nworld"
    )
    await EventStore(pool, old).append("note-1", 0, [written])

    (loaded,) = (await EventStore(pool, new).load("note-1")).events
    assert isinstance(loaded, NoteAddedV2)
    assert (loaded.title, loaded.body) == ("Hello", "Hello\nworld")
    assert (loaded.event_id, loaded.occurred_at) == (written.event_id, written.occurred_at)


async def test_eight_concurrent_writers_lose_nothing(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    streams = [f"stream-{n % 4}" for n in range(8)]  # two writers per stream: real contention

    async def writer(stream_id: str) -> None:
        written = 0
        while written < 1000:
            try:
                await store.append(stream_id, ANY, [make_event(stream_id, written)])
            except ConcurrencyError:
                continue
            written += 1

    await asyncio.gather(*(writer(stream_id) for stream_id in streams))
    assert await _count(pool, "SELECT count(*) FROM event_log") == 8000
    assert await _count(pool, "SELECT count(*) FROM outbox") == 8000
    assert await _count(pool, "SELECT count(DISTINCT event_id) FROM event_log") == 8000
    gaps = await _count(
        pool,
        "SELECT count(*) FROM (SELECT stream_id FROM event_log GROUP BY stream_id "
        "HAVING min(version) <> 1 OR max(version) <> count(*)) bad",
    )
    assert gaps == 0
    for stream_id in set(streams):
        assert (await store.load(stream_id)).version == 2000


_GUARD_TABLE = (
    "CREATE TABLE guarded_rows (stream_id text, version int, PRIMARY KEY (stream_id, version))"
)


def _limit_guard(limit: int) -> AppendGuard:
    """Admit while fewer than `limit` events are in the log; record each append in a table."""
    return AppendGuard(
        before="counted AS (SELECT count(*) AS n FROM event_log), "
        "admitted AS (SELECT FROM counted WHERE n < %(limit)s)",
        after="recorded AS (INSERT INTO guarded_rows (stream_id, version) "
        "SELECT %(stream_id)s, version FROM appended)",
        result="(SELECT n FROM counted)",
        params={"limit": limit},
    )


async def test_a_guarded_append_writes_events_and_rows_only_when_admitted(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    async with pool.connection() as conn:
        await conn.execute(_GUARD_TABLE.encode())
    first = await store.append_guarded("tag-a", 0, [make_event("tag-a", 0)], _limit_guard(2))
    assert (first.admitted, first.version, first.result) == (True, 1, (0,))
    many = [make_event("tag-b", n) for n in range(2)]
    second = await store.append_guarded("tag-b", ANY, many, _limit_guard(2))
    assert (second.admitted, second.version, second.result) == (True, 2, (1,))
    refused = await store.append_guarded("tag-c", 0, [make_event("tag-c", 0)], _limit_guard(2))
    assert (refused.admitted, refused.version, refused.result) == (False, None, (3,))
    assert (await store.load("tag-c")).version == 0
    assert await _count(pool, "SELECT count(*) FROM event_log") == 3
    assert await _count(pool, "SELECT count(*) FROM outbox") == 3
    assert (
        await _count(
            pool,
            "SELECT string_agg(stream_id || '@' || version, ',' ORDER BY stream_id, version)"
            " FROM guarded_rows",
        )
        == "tag-a@1,tag-b@1,tag-b@2"
    )


async def test_a_guarded_append_at_a_stale_version_raises_and_writes_nothing(
    store: EventStore, pool: Pool, make_event: MakeEvent
) -> None:
    async with pool.connection() as conn:
        await conn.execute(_GUARD_TABLE.encode())
    await store.append("tag-a", 0, [make_event("tag-a", 0)])
    with pytest.raises(ConcurrencyError):
        await store.append_guarded("tag-a", 0, [make_event("tag-a", 1)], _limit_guard(10))
    assert await _count(pool, "SELECT count(*) FROM guarded_rows") == 0
    assert (await store.load("tag-a")).version == 1


async def test_guard_parameters_may_not_shadow_the_stores(
    store: EventStore, make_event: MakeEvent
) -> None:
    guard = AppendGuard(before="admitted AS (SELECT)", params={"stream_id": "other"})
    with pytest.raises(ValueError, match="stream_id"):
        await store.append_guarded("tag-a", 0, [make_event("tag-a", 0)], guard)


# -- group commit (group_commit.py) --

_HOLD = 7  # the advisory lock a test holds to keep a group in flight


def _grouped(pool: Pool, registry: Registry, *, statements: int, groups: int) -> EventStore:
    commit = GroupCommit(pool, most_statements=statements, most_groups=groups)
    return EventStore(pool, registry, group_commit=commit)


async def test_concurrent_appends_share_commits_and_each_caller_gets_its_version(
    pool: Pool, registry: Registry, make_event: MakeEvent
) -> None:
    store = _grouped(pool, registry, statements=8, groups=1)
    lone = await store.append("lone", 0, [make_event("lone", 0)])
    versions = await asyncio.gather(
        *(store.append(f"s-{n}", 0, [make_event(f"s-{n}", n)]) for n in range(40))
    )

    assert lone == 1
    assert versions == [1] * 40
    assert await _count(pool, "SELECT count(*) FROM event_log") == 41
    assert await _count(pool, "SELECT count(*) FROM outbox") == 41
    # A lone append is a group of one; the 40 shared commits, eight at most each.
    per_commit = "SELECT count(*) AS n FROM event_log GROUP BY transaction_id"
    assert await _count(pool, f"SELECT max(n) FROM ({per_commit}) t") == 8
    assert await _count(pool, f"SELECT count(*) FROM ({per_commit}) t") < 41
    assert await _count(pool, "SELECT count(*) FROM event_log WHERE stream_id = 'lone'") == 1


async def test_a_conflict_in_a_group_is_its_own_callers_alone(
    pool: Pool, registry: Registry, make_event: MakeEvent
) -> None:
    store = _grouped(pool, registry, statements=16, groups=1)
    await store.append("taken", 0, [make_event("taken", 0)])
    appends = [store.append(f"new-{n}", 0, [make_event(f"new-{n}", n)]) for n in range(9)]
    appends.insert(4, store.append("taken", 0, [make_event("taken", 1)]))

    outcomes = await asyncio.gather(*appends, return_exceptions=True)

    assert isinstance(outcomes.pop(4), ConcurrencyError)
    assert outcomes == [1] * 9
    # The group was rolled back and its other statements ran again alone: all written once.
    assert await _count(pool, "SELECT count(*) FROM event_log") == 10
    assert (
        await _count(
            pool, "SELECT count(DISTINCT event_id) FROM outbox o JOIN event_log e USING (position)"
        )
        == 10
    )
    assert (await store.load("taken")).version == 1


def _waiting_guard() -> AppendGuard:
    """Admits once the test's advisory lock is free: keeps its group in flight meanwhile."""
    wait = f"waited AS (SELECT pg_advisory_xact_lock({_HOLD}))"
    return AppendGuard(before=f"{wait}, admitted AS (SELECT FROM waited)")


def _guard(lock: str) -> AppendGuard:
    return AppendGuard(before="admitted AS (SELECT)", lock=lock)


async def test_a_group_goes_in_lock_order_without_the_callers_that_gave_up(
    pool: Pool, registry: Registry, make_event: MakeEvent, database_url: str
) -> None:
    store = _grouped(pool, registry, statements=16, groups=1)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as holder:
        await holder.execute(f"SELECT pg_advisory_lock({_HOLD})".encode())
        first = asyncio.create_task(
            store.append_guarded("first", 0, [make_event("first", 0)], _waiting_guard())
        )
        for _ in range(600):  # the only group is in flight once its backend waits for the lock
            async with pool.connection() as conn:
                waiting = await advisory_lock_waiters(conn)
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting == 1, "the first group never reached the lock"
        queued = {
            name: asyncio.create_task(
                store.append_guarded(name, 0, [make_event(name, 0)], _guard(lock))
            )
            for name, lock in [
                ("c", "owner-c"),
                ("a", "owner-a"),
                ("gone", "owner-0"),
                ("b", "owner-b"),
            ]
        }
        # One turn of the loop runs each task up to its wait: its statement is queued
        # behind the first group (nothing before the queue waits on I/O).
        await asyncio.sleep(0)
        queued["gone"].cancel()
        await holder.execute(f"SELECT pg_advisory_unlock({_HOLD})".encode())

    assert (await first).admitted
    for name in ("a", "b", "c"):
        assert (await queued[name]).version == 1
    with pytest.raises(asyncio.CancelledError):
        await queued["gone"]
    order = await _count(
        pool,
        "SELECT string_agg(stream_id, ',' ORDER BY position) FROM event_log"
        " WHERE stream_id <> 'first'",
    )
    assert order == "a,b,c"  # sent in lock order, not in the order they queued
    assert (await store.load("gone")).version == 0  # never sent: its caller had gone


def test_a_group_commit_sends_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        GroupCommit(None, most_statements=0)  # type: ignore[arg-type]
