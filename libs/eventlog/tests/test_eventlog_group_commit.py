"""Group commit against a real Postgres: shared commits, each caller's own outcome, lock order."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from mediaplane.contracts import Registry, TagCreated
from mediaplane.eventlog import AppendGuard, ConcurrencyError, EventStore, Pool
from mediaplane.eventlog.group_commit import GroupCommit

pytestmark = pytest.mark.integration

MakeEvent = Callable[[str, int], TagCreated]
_HOLD = 7  # the advisory lock a test holds to keep a group in flight


async def _value(pool: Pool, query: str) -> Any:
    async with pool.connection() as conn:
        row = await (await conn.execute(query.encode())).fetchone()
        assert row is not None
        return row[0]


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
    assert await _value(pool, "SELECT count(*) FROM event_log") == 41
    assert await _value(pool, "SELECT count(*) FROM outbox") == 41
    # A lone append is a group of one; the 40 shared commits, eight at most each.
    per_commit = "SELECT count(*) AS n FROM event_log GROUP BY transaction_id"
    assert await _value(pool, f"SELECT max(n) FROM ({per_commit}) t") == 8
    assert await _value(pool, f"SELECT count(*) FROM ({per_commit}) t") < 41
    assert await _value(pool, "SELECT count(*) FROM event_log WHERE stream_id = 'lone'") == 1


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
    assert await _value(pool, "SELECT count(*) FROM event_log") == 10
    assert (
        await _value(
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
            waiting = await _value(
                pool, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
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
        await asyncio.sleep(0.1)  # every task has queued its statement behind the first group
        queued["gone"].cancel()
        await holder.execute(f"SELECT pg_advisory_unlock({_HOLD})".encode())

    assert (await first).admitted
    for name in ("a", "b", "c"):
        assert (await queued[name]).version == 1
    with pytest.raises(asyncio.CancelledError):
        await queued["gone"]
    order = await _value(
        pool,
        "SELECT string_agg(stream_id, ',' ORDER BY position) FROM event_log"
        " WHERE stream_id <> 'first'",
    )
    assert order == "a,b,c"  # sent in lock order, not in the order they queued
    assert (await store.load("gone")).version == 0  # never sent: its caller had gone


def test_a_group_commit_sends_something() -> None:
    with pytest.raises(ValueError, match="at least one"):
        GroupCommit(None, most_statements=0)  # type: ignore[arg-type]
