"""The outbox relay on real Postgres and NATS: exactly once and in order, through crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

import nats
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mediaplane.contracts import Registry, TagCreated
from mediaplane.devstack.pytest_plugin import NatsNamespace, PrivateNats
from mediaplane.eventlog import ANY, EventStore, OutboxRelay, Pool

pytestmark = pytest.mark.integration

MakeEvent = Callable[[str, int], TagCreated]
StreamContents = Callable[[str, str], Awaitable[list[tuple[str, str]]]]
CreateStream = Callable[[str, str, Registry], Awaitable[None]]


async def _outbox_size(pool: Pool) -> int:
    async with pool.connection() as conn:
        row = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
        assert row is not None
        count: int = row[0]
        return count


async def _wait_for_empty_outbox(pool: Pool, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while left := await _outbox_size(pool):
        if time.monotonic() > deadline:
            async with pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT application_name, state, wait_event, left(query, 60) "
                    "FROM pg_stat_activity WHERE datname = current_database()"
                )
                sessions = await cursor.fetchall()
            pytest.fail(f"the relays left {left} rows in the outbox; sessions: {sessions}")
        await asyncio.sleep(0.1)


async def _expected_order(pool: Pool) -> dict[str, list[str]]:
    """Each stream's event ids in version order, from the log."""
    order: dict[str, list[str]] = defaultdict(list)
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT stream_id, event_id FROM event_log ORDER BY stream_id, version"
        )
        for stream_id, event_id in await cursor.fetchall():
            order[stream_id].append(str(event_id))
    return order


def _assert_exactly_once_in_order(
    published: list[tuple[str, str]], expected: dict[str, list[str]]
) -> None:
    total = sum(len(ids) for ids in expected.values())
    event_ids = [event_id for _, event_id in published]
    assert len(event_ids) == total, "lost or duplicated messages in the stream"
    assert len(set(event_ids)) == total
    per_stream: dict[str, list[str]] = defaultdict(list)
    for stream_id, event_id in published:
        per_stream[stream_id].append(event_id)
    assert per_stream == expected, "a stream's events reached JetStream out of order"


async def _write(
    store: EventStore, make_event: MakeEvent, streams: int, per_stream: int, pause: float = 0
) -> None:
    async def writer(stream_id: str) -> None:
        for n in range(per_stream):
            await store.append(stream_id, ANY, [make_event(stream_id, n)])
            await asyncio.sleep(pause)  # spread the writes over the relays' lifetimes

    await asyncio.gather(*(writer(f"tag-{n}") for n in range(streams)))


async def test_published_messages_carry_subject_headers_and_event(
    store: EventStore,
    pool: Pool,
    database_url: str,
    nats_namespace: NatsNamespace,
    media_stream: str,
    make_event: MakeEvent,
) -> None:
    event = make_event("tag-a", 1)
    await store.append("tag-a", 0, [event], metadata={"traceparent": "00-aa-bb-01"})
    async with OutboxRelay(database_url, nats_namespace.url, poll_interval=0.2):
        await _wait_for_empty_outbox(pool, 30)
    nc = await nats.connect(nats_namespace.url)
    try:
        message = await nc.jetstream().get_msg(media_stream, seq=1)
    finally:
        await nc.close()
    assert message.subject == store.registry.subject("tag.created.v1")
    assert message.data is not None
    assert store.registry.decode(message.data) == event
    assert message.headers is not None
    assert message.headers["Nats-Msg-Id"] == str(event.event_id)
    assert message.headers["Mp-Event-Type"] == "tag.created.v1"
    assert message.headers["Mp-Stream-Id"] == "tag-a"
    assert message.headers["Mp-Correlation-Id"] == event.correlation_id
    assert message.headers["traceparent"] == "00-aa-bb-01"


async def test_the_relay_continues_the_stored_trace_from_when_the_event_was_recorded(
    store: EventStore,
    pool: Pool,
    database_url: str,
    nats_namespace: NatsNamespace,
    media_stream: str,
    make_event: MakeEvent,
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    with provider.get_tracer("test").start_as_current_span("POST /tags") as request:
        await store.append("tag-a", 0, [make_event("tag-a", 1)])
    async with OutboxRelay(
        database_url, nats_namespace.url, poll_interval=0.2, tracer_provider=provider
    ):
        await _wait_for_empty_outbox(pool, 30)
    nc = await nats.connect(nats_namespace.url)
    try:
        message = await nc.jetstream().get_msg(media_stream, seq=1)
    finally:
        await nc.close()

    (relayed,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    assert relayed.name == f"{message.subject} relay"
    assert relayed.context is not None
    assert relayed.parent is not None
    assert relayed.context.trace_id == request.get_span_context().trace_id
    assert relayed.parent.span_id == request.get_span_context().span_id
    (requested,) = [s for s in spans.get_finished_spans() if s.name == "POST /tags"]
    assert relayed.start_time is not None
    assert requested.end_time is not None
    assert relayed.start_time <= requested.end_time  # from the recording, not the claim
    # Consumers become children of the relay's span.
    assert message.headers is not None
    assert message.headers["traceparent"].split("-")[2] == f"{relayed.context.span_id:016x}"


async def test_a_relay_wakes_on_append_without_waiting_for_the_poll(
    store: EventStore,
    pool: Pool,
    database_url: str,
    nats_namespace: NatsNamespace,
    media_stream: str,
    make_event: MakeEvent,
) -> None:
    async with OutboxRelay(database_url, nats_namespace.url, poll_interval=60):
        await asyncio.sleep(0.5)  # the relay found the outbox empty and sleeps
        await store.append("tag-a", 0, [make_event("tag-a", 1)])
        await _wait_for_empty_outbox(pool, 30)


async def test_an_append_that_saw_a_row_being_relayed_is_relayed_without_waiting_for_the_poll(
    store: EventStore,
    pool: Pool,
    database_url: str,
    nats_namespace: NatsNamespace,
    media_stream: str,
    make_event: MakeEvent,
) -> None:
    """Such an append sends no NOTIFY (the outbox was not empty, store.py). When it commits
    just after the relay's next claim found nothing, the relay must look again soon anyway:
    before, it slept the whole poll interval (1 s tails in the latency benchmark's (d))."""
    await store.append("tag-a", 0, [make_event("tag-a", 1)])  # the relay's first round
    async with pool.connection() as conn:
        await conn.execute("BEGIN")
        await store.append("tag-b", 0, [make_event("tag-b", 1)], conn=conn)  # saw tag-a's row
        # An hour's poll: only the relay's short looks after work can find tag-b, so the
        # waits below are guards against a hang, not a bound on speed.
        async with OutboxRelay(database_url, nats_namespace.url, poll_interval=3600):
            await _wait_for_empty_outbox(pool, 120)  # tag-a relayed; tag-b is not committed
            await asyncio.sleep(0.2)  # the relay's next claim found nothing
            await conn.execute("COMMIT")
            await _wait_for_empty_outbox(pool, 120)


async def test_several_relays_killed_and_restarted_publish_each_event_once_in_order(
    store: EventStore,
    pool: Pool,
    database_url: str,
    nats_namespace: NatsNamespace,
    media_stream: str,
    stream_contents: StreamContents,
    make_event: MakeEvent,
) -> None:
    def new_relay() -> OutboxRelay:
        # Small batches: more rounds, so kills land mid-round more often.
        return OutboxRelay(database_url, nats_namespace.url, batch_size=50, poll_interval=0.1)

    relays = [new_relay() for _ in range(3)]
    for relay in relays:
        await relay.start()
    writing = asyncio.create_task(_write(store, make_event, streams=20, per_stream=100, pause=0.01))
    kills = 0
    try:
        while not writing.done():
            await asyncio.sleep(0.1)
            victim = relays.pop(0)
            await victim.stop()  # cancels wherever it is: mid-claim, mid-publish, mid-delete
            kills += 1
            relays.append(new_relay())
            await relays[-1].start()
        await writing
        await _wait_for_empty_outbox(pool, 30)
    finally:
        for relay in relays:
            await relay.stop()
    assert kills >= 10
    published = await stream_contents(nats_namespace.url, media_stream)
    _assert_exactly_once_in_order(published, await _expected_order(pool))


def _relay_process(database_url: str, nats_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mediaplane.eventlog",
            "relay",
            "--database-url",
            database_url,
            "--nats-url",
            nats_url,
            "--batch-size",
            "50",
            "--poll-interval",
            "0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def test_a_relay_process_killed_with_sigkill_loses_nothing(
    store: EventStore,
    pool: Pool,
    database_url: str,
    nats_namespace: NatsNamespace,
    media_stream: str,
    stream_contents: StreamContents,
    make_event: MakeEvent,
) -> None:
    process = _relay_process(database_url, nats_namespace.url)
    writing = asyncio.create_task(_write(store, make_event, streams=10, per_stream=150, pause=0.02))
    try:
        kills = 0
        while not writing.done() or kills < 3:
            await asyncio.sleep(1.0)
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            process = _relay_process(database_url, nats_namespace.url)
        await writing
        await _wait_for_empty_outbox(pool, 30)
    finally:
        process.terminate()
        process.wait()
    published = await stream_contents(nats_namespace.url, media_stream)
    _assert_exactly_once_in_order(published, await _expected_order(pool))


async def test_nats_down_for_10_seconds_loses_nothing_and_the_relay_recovers(
    store: EventStore,
    pool: Pool,
    database_url: str,
    private_nats: PrivateNats,
    registry: Registry,
    create_stream: CreateStream,
    stream_contents: StreamContents,
    make_event: MakeEvent,
) -> None:
    await create_stream(private_nats.url, "MEDIA", registry)
    async with OutboxRelay(database_url, private_nats.url, poll_interval=0.2) as relay:
        await _write(store, make_event, streams=5, per_stream=20)
        await _wait_for_empty_outbox(pool, 30)

        private_nats.stop()
        await _write(store, make_event, streams=5, per_stream=40)  # appends keep working
        await asyncio.sleep(10)
        assert await _outbox_size(pool) == 5 * 40  # all waiting, none lost
        private_nats.start()

        await _wait_for_empty_outbox(pool, 30)
        assert relay.metrics.failures._value.get() > 0
    published = await stream_contents(private_nats.url, "MEDIA")
    _assert_exactly_once_in_order(published, await _expected_order(pool))
