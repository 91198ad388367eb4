"""Event log benchmarks: appends vs a raw INSERT ceiling, relay vs raw JetStream publishing.

Each comparison runs ours and the ceiling alternately, in the same run, on the
same servers, with the same payloads and concurrency, and reports the median of
the rounds (the machine is shared, so single runs are noisy). Numbers go to
docs/benchmarks.md (`## Event log`). The aims are asserted loosely: a slow,
busy machine must not make the suite flaky.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import nats
import pytest
from nats.js.api import StorageType, StreamConfig

from mediaplane.contracts import ALL_EVENTS, EventContext, Registry, TagCreated, new_event, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.eventlog import EventStore, OutboxRelay, Pool, migrate, open_pool
from mediaplane.eventlog.acked_publish import AckedPublisher
from mediaplane.eventlog.codec import jsonb, split_event
from mediaplane.eventlog.outbox import OutboxMessage, claim

pytestmark = pytest.mark.bench

ROUNDS = 5
RELAY_BATCH = 500
CONTEXT = EventContext(producer="bench", correlation_id="bench-correlation")

_RAW_TABLE = b"""
CREATE TABLE raw_log (
    position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id   text        NOT NULL,
    version     integer     NOT NULL,
    event_id    uuid        NOT NULL,
    type        text        NOT NULL,
    data        jsonb       NOT NULL,
    metadata    jsonb       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
)
"""

_RAW_INSERT = (
    b"INSERT INTO raw_log (stream_id, version, event_id, type, data, metadata) "
    b"VALUES (%s, %s, %s, %s, %s, %s)"
)


def _events(prefix: str, count: int) -> list[TagCreated]:
    return [
        new_event(
            TagCreated,
            occurred_at=utc_now(),
            stream_id=f"{prefix}-{n}",
            context=CONTEXT,
            name=f"holiday-photos-{n}",
            created_by="user-0123456789",
        )
        for n in range(count)
    ]


async def _timed(run: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


def _report(title: str, ours: list[float], ceiling: list[float]) -> float:
    """Median rates, and the median of per-round ratios (each round's two runs are neighbours)."""
    ours_rate, ceiling_rate = statistics.median(ours), statistics.median(ceiling)
    ratio = statistics.median(o / c for o, c in zip(ours, ceiling, strict=True))
    print(
        f"\n{title}: {ours_rate:,.0f} events/s vs ceiling {ceiling_rate:,.0f}/s "
        f"= {ratio:.0%} (rounds: ours {[round(r) for r in ours]}, "
        f"ceiling {[round(r) for r in ceiling]})"
    )
    return ratio


@pytest.fixture
async def bench_pool(pg_url: str) -> AsyncIterator[Pool]:
    await migrate(pg_url)
    pool = await open_pool(pg_url, min_size=8, max_size=8)
    async with pool.connection() as conn:
        await conn.execute(_RAW_TABLE)
    yield pool
    await pool.close()


@pytest.mark.parametrize(("writers", "per_writer"), [(1, 2000), (8, 1500)])
async def test_append_throughput_vs_raw_insert(
    bench_pool: Pool, writers: int, per_writer: int
) -> None:
    store = EventStore(bench_pool, Registry(ALL_EVENTS))

    async def appends(batches: list[list[TagCreated]]) -> None:
        async def writer(events: list[TagCreated]) -> None:
            for event in events:  # one append call of one event, each its own transaction
                await store.append(event.stream_id, 0, [event])

        await asyncio.gather(*(writer(events) for events in batches))

    async def raw_inserts(batches: list[list[TagCreated]]) -> None:
        async def writer(events: list[TagCreated]) -> None:
            async with bench_pool.connection() as conn:
                for event in events:
                    data, metadata = split_event(store.registry, event)
                    await conn.execute(
                        _RAW_INSERT,
                        (
                            event.stream_id,
                            1,
                            event.event_id,
                            event.tag(),
                            jsonb(data),
                            jsonb(metadata),
                        ),
                    )

        await asyncio.gather(*(writer(events) for events in batches))

    total = writers * per_writer
    ours: list[float] = []
    ceiling: list[float] = []
    for round_ in range(ROUNDS):
        raw_batches = [_events(f"raw{round_}-{w}", per_writer) for w in range(writers)]
        ceiling.append(total / await _timed(lambda: raw_inserts(raw_batches)))  # noqa: B023
        our_batches = [_events(f"ours{round_}-{w}", per_writer) for w in range(writers)]
        ours.append(total / await _timed(lambda: appends(our_batches)))  # noqa: B023
    ratio = _report(f"append, {writers} writer(s)", ours, ceiling)
    assert ratio > 0.2  # aim: >= 50%; far below means something broke, not noise


async def _fill_outbox(store: EventStore, streams: int, per_stream: int, prefix: str) -> None:
    async def fill(stream_id: str) -> None:
        events = [
            new_event(
                TagCreated,
                occurred_at=utc_now(),
                stream_id=stream_id,
                context=CONTEXT,
                name=f"tag-{n}",
                created_by="u",
            )
            for n in range(per_stream)
        ]
        await store.append(stream_id, 0, events)

    for first in range(0, streams, 100):
        await asyncio.gather(
            *(fill(f"{prefix}-{n}") for n in range(first, min(first + 100, streams)))
        )


async def _outbox_messages(pool: Pool, limit: int) -> list[OutboxMessage]:
    """The payloads the relay would publish, for the raw publisher to send too."""
    async with pool.connection() as conn, conn.transaction():
        return await claim(conn, limit)


async def test_relay_throughput_vs_raw_jetstream_publish(
    bench_pool: Pool, nats_namespace: NatsNamespace, pg_url: str
) -> None:
    registry = Registry(ALL_EVENTS, subject_root=f"{nats_namespace.subject_prefix}.media")
    store = EventStore(bench_pool, registry)
    nc = await nats.connect(nats_namespace.url)
    js = nc.jetstream()
    for name, root in (("MEDIA", "media"), ("RAW", "raw")):
        await js.add_stream(
            StreamConfig(
                name=f"{nats_namespace.stream_prefix}_{name}",
                subjects=[f"{nats_namespace.subject_prefix}.{root}.>"],
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
    streams, per_stream = 2000, 5
    total = streams * per_stream

    async def relay_all() -> float:
        """Steady-state events/s: from the first acknowledged batch to the last event.

        Connecting to Postgres and NATS is left out, as it is for the ceiling,
        whose client is connected and whose messages are built beforehand.
        """
        relay = OutboxRelay(pg_url, nats_namespace.url, batch_size=RELAY_BATCH, poll_interval=0.05)
        async with relay:
            while (first := int(relay.metrics.published._value.get())) == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            started = time.perf_counter()
            while relay.metrics.published._value.get() < total:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            return (total - first) / (time.perf_counter() - started)

    async def raw_publish(messages: list[OutboxMessage]) -> None:
        raw_js = nc.jetstream(publish_async_max_pending=RELAY_BATCH)
        for message in messages:
            subject = message.subject.replace(".media.", ".raw.", 1)
            await raw_js.publish_async(subject, message.body, headers=message.headers)
        await raw_js.publish_async_completed()

    async def lean_publish(messages: list[OutboxMessage]) -> None:
        """The same, through the relay's own publisher (all at once, then every ack)."""
        publisher = AckedPublisher(nc)
        await publisher.start()
        try:
            futures = [
                await publisher.publish(
                    message.subject.replace(".media.", ".raw.", 1), message.body, message.headers
                )
                for message in messages
            ]
            await asyncio.gather(*futures)
        finally:
            await publisher.close()

    ours: list[float] = []
    ceiling: list[float] = []
    lean: list[float] = []
    try:
        for round_ in range(ROUNDS):
            await _fill_outbox(store, streams, per_stream, f"relay{round_}")
            messages = await _outbox_messages(bench_pool, total)
            assert len(messages) == total
            ceiling.append(total / await _timed(lambda: raw_publish(messages)))  # noqa: B023
            # New Nats-Msg-Ids, or JetStream would drop these as duplicates of the above.
            fresh = [
                replace(m, headers={**m.headers, "Nats-Msg-Id": f"lean-{m.position}-{round_}"})
                for m in messages
            ]
            lean.append(total / await _timed(lambda: lean_publish(fresh)))  # noqa: B023
            ours.append(await relay_all())
    finally:
        await nc.close()
    _report("raw publish through the relay's AckedPublisher (not the ceiling)", lean, ceiling)
    ratio = _report("relay, outbox -> JetStream", ours, ceiling)
    assert ratio > 0.2  # aim: >= 50%
