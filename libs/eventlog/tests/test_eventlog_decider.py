"""`handle`, the one write path: load, decide, append, retry; and what writers plug into it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
import pytest

from mediaplane.contracts import Event, TagCreated
from mediaplane.domain import Decider
from mediaplane.eventlog import (
    ANY,
    AppendGuard,
    ConcurrencyError,
    EventStore,
    LoadedStream,
    handle,
)

pytestmark = pytest.mark.integration

MakeEvent = Callable[[str, int], TagCreated]


class RacingStore(EventStore):
    """Another writer appends right after each of the first `races` loads."""

    def __init__(self, store: EventStore, make_event: MakeEvent, races: int) -> None:
        super().__init__(store.pool, store.registry)
        self.races = races
        self.make_event = make_event

    async def load(
        self, stream_id: str, *, conn: psycopg.AsyncConnection[Any] | None = None
    ) -> LoadedStream:
        loaded = await super().load(stream_id, conn=conn)
        if self.races > 0:
            self.races -= 1
            await super().append(stream_id, ANY, [self.make_event(stream_id, 100 + self.races)])
        return loaded


def counter(make_event: MakeEvent) -> Decider[str, int]:
    """Counts tags; the command is the stream id; refuses to go past 5."""

    def decide(stream_id: str, count: int) -> list[Event]:
        if count >= 5:
            raise ValueError("full")
        return [make_event(stream_id, count + 1)]

    return Decider(initial_state=0, decide=decide, evolve=lambda count, _: count + 1)


async def test_handle_appends_the_decided_events(store: EventStore, make_event: MakeEvent) -> None:
    handled = await handle(store, "tag-a", counter(make_event), "tag-a")
    assert handled.version == 1
    assert (await store.load("tag-a")).events == handled.events


async def test_handle_retries_on_conflict_and_decides_on_fresh_state(
    store: EventStore, make_event: MakeEvent
) -> None:
    racing = RacingStore(store, make_event, races=2)
    handled = await handle(racing, "tag-a", counter(make_event), "tag-a", retries=3)
    assert handled.version == 3  # two racing appends, then ours
    assert isinstance(handled.events[0], TagCreated)
    assert handled.events[0].name == "tag-3"  # decided on the state after the races


async def test_handle_raises_the_conflict_when_retries_are_exhausted(
    store: EventStore, make_event: MakeEvent
) -> None:
    racing = RacingStore(store, make_event, races=3)
    with pytest.raises(ConcurrencyError):
        await handle(racing, "tag-a", counter(make_event), "tag-a", retries=2)


async def test_domain_errors_are_not_retried(store: EventStore, make_event: MakeEvent) -> None:
    for _ in range(5):
        await handle(store, "tag-a", counter(make_event), "tag-a")
    with pytest.raises(ValueError, match="full"):
        await handle(store, "tag-a", counter(make_event), "tag-a")


async def test_inline_projection_commits_with_the_append(
    store: EventStore, make_event: MakeEvent
) -> None:
    async with store.pool.connection() as conn:
        await conn.execute("CREATE TABLE tag_counts (stream_id text PRIMARY KEY, n int)")

    async def count(conn: psycopg.AsyncConnection[Any], events: Sequence[Event]) -> None:
        await conn.execute(
            "INSERT INTO tag_counts VALUES (%s, %s) "
            "ON CONFLICT (stream_id) DO UPDATE SET n = tag_counts.n + excluded.n",
            (events[0].stream_id, len(events)),
        )

    racing = RacingStore(store, make_event, races=1)
    await handle(racing, "tag-a", counter(make_event), "tag-a", inline=count)
    async with store.pool.connection() as conn:
        row = await (await conn.execute("SELECT n FROM tag_counts")).fetchone()
    assert row == (1,)  # the attempt that conflicted left nothing behind


def _starter(make_event: MakeEvent) -> Decider[str, int]:
    """Counts its stream; each command also starts the stream named by the command."""

    def decide(other: str, count: int) -> list[Event]:
        return [make_event("tag-a", count + 1), make_event(other, 0)]

    return Decider(initial_state=0, decide=decide, evolve=lambda count, _: count + 1)


async def test_events_of_other_streams_start_those_streams_in_the_same_transaction(
    store: EventStore, make_event: MakeEvent
) -> None:
    handled = await handle(store, "tag-a", _starter(make_event), "tag-b")
    assert (handled.version, handled.state) == (1, 2)
    assert (await store.load("tag-b")).version == 1
    # The started stream exists now: starting it again conflicts, and nothing of it is kept.
    with pytest.raises(ConcurrencyError):
        await handle(store, "tag-a", _starter(make_event), "tag-b", retries=0)
    assert (await store.load("tag-a")).version == 1


async def test_before_runs_first_and_its_refusal_writes_nothing(
    store: EventStore, make_event: MakeEvent
) -> None:
    class Refused(Exception):
        pass

    async def refuse(conn: psycopg.AsyncConnection[Any]) -> None:
        raise Refused

    with pytest.raises(Refused):
        await handle(store, "tag-a", counter(make_event), "tag-a", before=refuse)
    assert (await store.load("tag-a")).version == 0


async def test_history_is_folded_first_and_never_written(
    store: EventStore, make_event: MakeEvent
) -> None:
    for n in range(5):
        await store.append("tag-old", ANY, [make_event("tag-old", n)])
    # Five events of history fill the counter: the command is refused.
    with pytest.raises(ValueError, match="full"):
        await handle(store, "tag-a", counter(make_event), "tag-a", history=["tag-old"])
    assert (await store.load("tag-old")).version == 5


async def test_a_new_stream_is_appended_in_one_statement_and_a_guard_may_refuse_it(
    store: EventStore, make_event: MakeEvent
) -> None:
    def guard(limit: int) -> Callable[[Sequence[Event]], AppendGuard]:
        return lambda _: AppendGuard(
            before="counted AS (SELECT count(*) AS n FROM event_log), "
            "admitted AS (SELECT FROM counted WHERE n < %(limit)s)",
            result="(SELECT n FROM counted)",
            params={"limit": limit},
        )

    first = await handle(
        store, "tag-a", counter(make_event), "tag-a", new_stream=True, guard=guard(1)
    )
    assert (first.admitted, first.version, first.state, first.guard_result) == (True, 1, 1, (0,))
    refused = await handle(
        store, "tag-b", counter(make_event), "tag-b", new_stream=True, guard=guard(1)
    )
    assert (refused.admitted, refused.events, refused.guard_result) == (False, [], (1,))
    assert (await store.load("tag-b")).version == 0


async def test_a_command_joins_the_callers_transaction_and_rolls_back_with_it(
    store: EventStore, make_event: MakeEvent
) -> None:
    class Abandoned(Exception):
        pass

    async def abandon() -> None:
        async with store.pool.connection() as conn, conn.transaction():
            joined = await handle(store, "tag-a", counter(make_event), "tag-a", conn=conn)
            assert (await store.load("tag-a", conn=conn)).version == joined.version == 1
            raise Abandoned

    with pytest.raises(Abandoned):
        await abandon()
    assert (await store.load("tag-a")).version == 0
    await handle(store, "tag-a", counter(make_event), "tag-a")
    assert (await store.load("tag-a")).version == 1
