"""The catch-up projector: exactly-once effects, checkpoints, and no skipped in-flight events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from mediaplane.contracts import Registry, TagCreated
from mediaplane.eventlog import ANY, EventStore, Pool, Projector, RecordedEvent

pytestmark = pytest.mark.integration

MakeEvent = Callable[[str, int], TagCreated]


async def _record(conn: psycopg.AsyncConnection[Any], recorded: RecordedEvent) -> None:
    # The primary key turns a second application of one event into an error.
    await conn.execute(
        "INSERT INTO projected (event_id, stream_id, version) VALUES (%s, %s, %s)",
        (recorded.event.event_id, recorded.stream_id, recorded.version),
    )


@pytest.fixture
async def projected_table(pool: Pool) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "CREATE TABLE projected (n bigserial, event_id uuid PRIMARY KEY, "
            "stream_id text NOT NULL, version int NOT NULL)"
        )


async def _catch_up(projector: Projector, expected: int) -> int:
    """Project until `expected` events were applied (or 10 s passed).

    The server is shared: a transaction of another test, in any database,
    holds the projector back until it ends (the documented trade-off).
    """
    applied = 0
    deadline = time.monotonic() + 60  # patience: another test's transaction may hold it back
    while applied < expected and time.monotonic() < deadline:
        applied += await projector.catch_up()
        await asyncio.sleep(0.01)
    return applied


async def _projected(pool: Pool) -> list[tuple[str, int]]:
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT stream_id, version FROM projected ORDER BY n")
        return [(stream_id, version) for stream_id, version in await cursor.fetchall()]


@pytest.mark.usefixtures("projected_table")
async def test_catch_up_applies_each_event_once_and_moves_the_checkpoint(
    store: EventStore, pool: Pool, registry: Registry, make_event: MakeEvent
) -> None:
    await store.append("tag-a", 0, [make_event("tag-a", n) for n in range(3)])
    projector = Projector(pool, registry, "tags", _record, batch_size=2)
    assert await _catch_up(projector, 3) == 3
    assert await projector.catch_up() == 0  # the checkpoint remembers
    await store.append("tag-a", 3, [make_event("tag-a", 3)])
    assert await _catch_up(Projector(pool, registry, "tags", _record), 1) == 1
    assert await _projected(pool) == [("tag-a", 1), ("tag-a", 2), ("tag-a", 3), ("tag-a", 4)]


@pytest.mark.usefixtures("projected_table")
async def test_a_failing_batch_rolls_back_projection_and_checkpoint_together(
    store: EventStore, pool: Pool, registry: Registry, make_event: MakeEvent
) -> None:
    await store.append("tag-a", 0, [make_event("tag-a", n) for n in range(4)])
    failures = [3]

    async def flaky(conn: psycopg.AsyncConnection[Any], recorded: RecordedEvent) -> None:
        await _record(conn, recorded)
        if recorded.version == failures[0]:
            failures[0] = 0
            raise RuntimeError("projection crashed mid-batch")

    projector = Projector(pool, registry, "tags", flaky)
    with pytest.raises(RuntimeError):
        await projector.catch_up()
    assert await _projected(pool) == []
    assert await _catch_up(projector, 4) == 4
    assert [version for _, version in await _projected(pool)] == [1, 2, 3, 4]


@pytest.mark.usefixtures("projected_table")
async def test_an_event_committed_late_is_not_skipped(
    store: EventStore, pool: Pool, registry: Registry, make_event: MakeEvent
) -> None:
    """Position 1 is still in flight when position 2 commits: a `position > checkpoint`
    reader would project 2, move past 1 and never see it."""
    projector = Projector(pool, registry, "tags", _record)
    async with pool.connection() as slow, slow.transaction():
        await store.append("slow", 0, [make_event("slow", 1)], conn=slow)
        await store.append("fast", 0, [make_event("fast", 1)])
        assert await projector.catch_up() == 0  # waits for the slow writer
    assert await _catch_up(projector, 2) == 2
    assert await _projected(pool) == [("slow", 1), ("fast", 1)]


@pytest.mark.usefixtures("projected_table")
async def test_projectors_racing_writers_apply_every_event_exactly_once_in_stream_order(
    store: EventStore, pool: Pool, registry: Registry, make_event: MakeEvent
) -> None:
    projectors = [
        Projector(pool, registry, "tags", _record, batch_size=50, poll_interval=0.05)
        for _ in range(2)
    ]
    for projector in projectors:
        await projector.start()

    async def writer(stream_id: str) -> None:
        for n in range(150):
            await store.append(stream_id, ANY, [make_event(stream_id, n)])

    await asyncio.gather(*(writer(f"tag-{n}") for n in range(8)))
    for projector in projectors:
        await projector.stop()
    already = len(await _projected(pool))
    await _catch_up(projectors[0], 8 * 150 - already)
    projected = await _projected(pool)
    assert len(projected) == 8 * 150
    for n in range(8):
        versions = [version for stream_id, version in projected if stream_id == f"tag-{n}"]
        assert versions == list(range(1, 151))
