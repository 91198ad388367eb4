"""BatchPuller against real JetStream: partial, empty and late batches; acks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from mediaplane.bus import BusSettings, provision
from mediaplane.bus.pull import BatchPuller

pytestmark = pytest.mark.integration

DURABLE = "pull-test"


@pytest.fixture
async def puller(nc: Client, settings: BusSettings) -> AsyncIterator[BatchPuller]:
    await provision(nc.jetstream(), settings)
    await nc.jetstream().add_consumer(
        settings.stream,
        ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0),
    )
    pulling = BatchPuller(nc, settings.stream, DURABLE)
    await pulling.start()
    yield pulling
    await pulling.close()


async def publish(js: JetStreamContext, settings: BusSettings, n: int) -> None:
    for i in range(n):
        await js.publish(f"{settings.subject_root}.test.v1", f"m{i}".encode())


async def test_what_is_there_comes_at_once_in_batches(
    nc: Client, puller: BatchPuller, settings: BusSettings
) -> None:
    await publish(nc.jetstream(), settings, 7)

    # A partial batch does not wait for `expires` (the no_wait request): waiting
    # for it would take 2 x 120 s, far past the 60 s this test allows.
    async with asyncio.timeout(60):
        first = await puller.fetch(5, expires=120)
        rest = await puller.fetch(5, expires=120)
    assert [m.data for m in first + rest] == [f"m{i}".encode() for i in range(7)]
    assert [m.metadata.num_delivered for m in first + rest] == [1] * 7
    for msg in first + rest:
        await msg.ack()


async def test_nothing_there_waits_for_expires_then_gives_an_empty_batch(
    puller: BatchPuller,
) -> None:
    started = time.perf_counter()
    assert await puller.fetch(10, expires=0.3) == []
    assert time.perf_counter() - started >= 0.25


async def test_messages_published_while_waiting_fill_the_batch(
    nc: Client, puller: BatchPuller, settings: BusSettings
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        await publish(nc.jetstream(), settings, 3)

    publishing = asyncio.create_task(later())
    # The batch is complete when the third message arrives, long before `expires`.
    async with asyncio.timeout(60):
        batch = await puller.fetch(3, expires=120)
    await publishing
    assert len(batch) == 3


async def test_unacked_messages_are_redelivered_acked_ones_are_not(
    nc: Client, puller: BatchPuller, settings: BusSettings
) -> None:
    await publish(nc.jetstream(), settings, 2)
    first = await puller.fetch(10, expires=2)
    assert len(first) == 2
    await first[0].ack()

    # After ack_wait (1 s); a batch of one, or the request would linger on and
    # take the next redelivery as well.
    again = await puller.fetch(1, expires=3)
    assert [m.data for m in again] == [first[1].data]
    assert again[0].metadata.num_delivered == 2
    await again[0].ack()


async def test_with_wait_for_one_the_first_message_ends_the_wait(
    nc: Client, puller: BatchPuller, settings: BusSettings
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        await publish(nc.jetstream(), settings, 1)

    publishing = asyncio.create_task(later())
    # A handler starts on the first message instead of waiting for the batch to
    # fill: waiting would take 120 s, twice the 60 s this test allows.
    async with asyncio.timeout(60):
        batch = await puller.fetch(5, expires=120, wait_for=1)
    await publishing
    assert [m.data for m in batch] == [b"m0"]
    await batch[0].ack()
