"""BatchPuller against real JetStream: partial, empty and late batches; acks; a NATS restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import nats
import psycopg
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

from mediaplane.bus import BusSettings, provision
from mediaplane.bus.testing import eventually
from mediaplane.catalog.config import CatalogSettings, IngestSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.catalog.ingest.pull import BatchPuller
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import build_registry
from mediaplane.devstack.pytest_plugin import PrivateNats

pytestmark = pytest.mark.integration

DURABLE = "pull-test"


@pytest.fixture
async def nc(bus_settings: BusSettings) -> AsyncIterator[Client]:
    client = await nats.connect(bus_settings.url)
    await provision(client.jetstream(), bus_settings)
    await client.jetstream().add_consumer(
        bus_settings.stream,
        ConsumerConfig(durable_name=DURABLE, ack_policy=AckPolicy.EXPLICIT, ack_wait=1.0),
    )
    yield client
    await client.close()


@pytest.fixture
async def puller(nc: Client, bus_settings: BusSettings) -> AsyncIterator[BatchPuller]:
    pulling = BatchPuller(nc, bus_settings.stream, DURABLE)
    await pulling.start()
    yield pulling
    await pulling.close()


async def publish(js: JetStreamContext, settings: BusSettings, n: int) -> None:
    for i in range(n):
        await js.publish(f"{settings.subject_root}.test.v1", f"m{i}".encode())


async def test_what_is_there_comes_at_once_in_batches(
    nc: Client, puller: BatchPuller, bus_settings: BusSettings
) -> None:
    await publish(nc.jetstream(), bus_settings, 7)

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
    nc: Client, puller: BatchPuller, bus_settings: BusSettings
) -> None:
    async def later() -> None:
        await asyncio.sleep(0.2)
        await publish(nc.jetstream(), bus_settings, 3)

    publishing = asyncio.create_task(later())
    # The batch is complete when the third message arrives, long before `expires`.
    async with asyncio.timeout(60):
        batch = await puller.fetch(3, expires=120)
    await publishing
    assert len(batch) == 3


async def test_unacked_messages_are_redelivered_acked_ones_are_not(
    nc: Client, puller: BatchPuller, bus_settings: BusSettings
) -> None:
    await publish(nc.jetstream(), bus_settings, 2)
    first = await puller.fetch(10, expires=2)
    assert len(first) == 2
    await first[0].ack()

    # After ack_wait (1 s); a batch of one, or the request would linger on and
    # take the next redelivery as well.
    again = await puller.fetch(1, expires=3)
    assert [m.data for m in again] == [first[1].data]
    assert again[0].metadata.num_delivered == 2
    await again[0].ack()


async def test_ingest_resumes_after_nats_restarts(
    private_nats: PrivateNats, settings: CatalogSettings, pool: Any
) -> None:
    bus = msgspec.structs.replace(settings.bus, url=private_nats.url)
    registry = build_registry(bus.subject_root)
    before = FileStory(owner="alice").opened()
    after = FileStory(owner="bob").opened()

    async def publish_story(story: FileStory) -> None:
        nc = await nats.connect(private_nats.url)
        js = nc.jetstream()
        await provision(js, bus)  # streams and the durable survive a restart on disk
        for event in story.events:
            await js.publish(registry.subject_of(event), registry.encode(event))
        await nc.close()

    def sessions() -> int:
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM upload_sessions").fetchone()
        assert row is not None
        return int(row[0])

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_ingest(pool=pool, registry=registry, bus=bus, settings=IngestSettings(), stop=stop)
    )
    try:
        await publish_story(before)
        await eventually(lambda: sessions() == 1)
        private_nats.stop()
        await asyncio.sleep(1.5)  # a pull request or two go unanswered
        private_nats.start()
        await publish_story(after)
        await eventually(lambda: sessions() == 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
