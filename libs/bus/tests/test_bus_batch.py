"""Batch consumers against a real JetStream: one call per fetch, retry alone, poison, progress."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from nats.js import JetStreamContext
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mediaplane.bus import (
    Bus,
    BusSettings,
    Delivery,
    PoisonEvent,
    Publisher,
    read_dead_letters,
)
from mediaplane.bus.progress import ConsumerProgress
from mediaplane.bus.replay import read_stream
from mediaplane.bus.testing import eventually
from mediaplane.contracts import FileVerified, Registry

pytestmark = pytest.mark.integration

Verified = Callable[[int], FileVerified]


def sizes(data: bytes, delivery: Delivery) -> int:
    """The item of a message: the event's `size` (the test events' n), or poison."""
    if b'"size":13' in data:
        raise PoisonEvent("undecodable: 13 is unlucky")
    return int(data.split(b'"size":')[1].split(b",")[0].rstrip(b"}"))


async def test_a_fetch_is_one_call_and_every_message_is_acked_after_it(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    for n in range(12):
        await publisher.publish(verified(n))
    bus = Bus(settings, registry, producer="catalog")
    calls: list[list[int]] = []

    @bus.batch_consumer("ledger", decode=sizes, events=[FileVerified], batch_size=50)
    async def write(items: Sequence[int]) -> None:
        calls.append(list(items))

    async with bus.running():
        await eventually(lambda: sum(len(c) for c in calls) == 12)
        info = await js.consumer_info(settings.stream, "ledger")

    assert calls == [list(range(12))]  # all were there: one fetch, one call
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_a_failed_batch_is_retried_alone_and_poison_is_dead_lettered_at_once(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    for n in (1, 2, 13, 4):
        await publisher.publish(verified(n))
    bus = Bus(settings, registry, producer="catalog")
    written: list[int] = []
    outcomes: list[str] = []

    @bus.batch_consumer(
        "ledger",
        decode=sizes,
        events=[FileVerified],
        max_deliver=2,
        backoff=[0.05],
        observe=outcomes.append,
    )
    async def write(items: Sequence[int]) -> None:
        if 2 in items:  # 2 never goes in; alone, the others do
            raise RuntimeError("check violation")
        written.extend(items)

    async with bus.running():

        async def settled() -> bool:
            return len(await read_dead_letters(js, settings)) == 2

        await eventually(settled)
        info = await js.consumer_info(settings.stream, "ledger")

    assert sorted(written) == [1, 4]
    letters = sorted(await read_dead_letters(js, settings), key=lambda d: d.reason)
    assert [letter.reason for letter in letters] == [
        "handler failed on delivery 2/2: RuntimeError: check violation",
        "undecodable: 13 is unlucky",
    ]
    assert outcomes.count("dead_lettered") == 2
    assert outcomes.count("retried") == 1
    assert (info.num_pending, info.num_ack_pending) == (0, 0)


async def test_read_stream_and_progress(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    verified: Verified,
) -> None:
    acks = [await publisher.publish(verified(n)) for n in range(5)]
    async with ConsumerProgress(settings, "ledger", name="test") as progress:
        assert not (await progress()).exists

        bus = Bus(settings, registry, producer="catalog")
        done: list[int] = []

        @bus.batch_consumer("ledger", decode=sizes, events=[FileVerified])
        async def write(items: Sequence[int]) -> None:
            done.extend(items)

        async with bus.running():
            await eventually(lambda: len(done) == 5)

        async def caught_up() -> bool:
            return (await progress()).caught_up

        await eventually(caught_up)

    read = [m async for batch in read_stream(settings, name="test", from_seq=3) for m in batch]
    assert [m.stream_sequence for m in read] == [a.seq for a in acks[2:]]
    assert all(m.subject.endswith("file.verified.v1") for m in read)


async def test_a_batch_outlasting_the_graceful_timeout_is_handed_back(
    settings: BusSettings, registry: Registry, publisher: Publisher, verified: Verified
) -> None:
    await publisher.publish(verified(1))
    bus = Bus(settings, registry, producer="catalog", graceful_timeout=0.3)
    started = asyncio.Event()

    @bus.batch_consumer("ledger", decode=sizes, events=[FileVerified], ack_wait=3600.0)
    async def stuck(items: Sequence[int]) -> None:
        started.set()
        await asyncio.sleep(60)

    async with bus.running():
        await asyncio.wait_for(started.wait(), 30)

    # The NAK makes it available at once; without it, it would come back only after
    # ack_wait (an hour), far past the patience of `eventually`.
    successor = Bus(settings, registry, producer="catalog")
    attempts: list[int] = []

    def decode(data: bytes, delivery: Delivery) -> int:
        attempts.append(delivery.delivery_count)
        return sizes(data, delivery)

    @successor.batch_consumer("ledger", decode=decode, events=[FileVerified], ack_wait=3600.0)
    async def write(items: Sequence[int]) -> None:
        pass

    async with successor.running():
        await eventually(lambda: len(attempts) == 1)

    assert attempts == [2]


async def test_each_message_of_a_batch_continues_its_own_trace(
    settings: BusSettings, registry: Registry, js: JetStreamContext, verified: Verified
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    publisher = Publisher(js, registry, stream=settings.stream, tracer_provider=provider)
    requests = []
    for n in range(3):
        with provider.get_tracer("test").start_as_current_span(f"request {n}") as request:
            await publisher.publish(verified(n))
        requests.append(request.get_span_context().trace_id)
    bus = Bus(settings, registry, producer="catalog", tracer_provider=provider)
    seen: list[int] = []

    @bus.batch_consumer("ledger", decode=sizes, events=[FileVerified], batch_size=50)
    async def write(items: Sequence[int]) -> None:
        seen.extend(items)

    async with bus.running():
        await eventually(lambda: len(seen) == 3)

    consumed = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert sorted(s.context.trace_id for s in consumed) == sorted(requests)
    assert {dict(s.attributes or {})["messaging.consumer.group.name"] for s in consumed} == {
        "ledger"
    }
