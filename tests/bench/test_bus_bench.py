"""Bus consumers: messages/s and CPU per message of a no-op handler (ADR 0007)."""

from __future__ import annotations

import asyncio
import time
import uuid
from functools import partial

import nats

from mediaplane.bus import Bus, BusSettings, Delivery, Publisher, provision
from mediaplane.bus.consumer import ConsumerSpec, MessageProcessor, subscription_subjects
from mediaplane.bus.pull import BatchPuller
from mediaplane.bus.retry import RetryPolicy
from mediaplane.bus.testing import eventually, namespaced_settings
from mediaplane.bus.topology import ensure_consumer
from mediaplane.contracts import ALL_EVENTS, EventContext, FileDeleted, Registry, new_event
from mediaplane.devstack.pytest_plugin import NatsNamespace

from .conftest import machine_description

EVENTS = 10_000


def _done(seen: list[int]) -> bool:
    return len(seen) >= EVENTS


def _event(n: int) -> FileDeleted:
    return new_event(
        FileDeleted,
        stream_id=f"file-{n}",
        context=EventContext(producer="bench", correlation_id=f"c-{n}"),
        file_id=uuid.uuid4(),
        owner="alice",
        deleted_by="alice",
    )


async def _raw(
    settings: BusSettings, registry: Registry, durable: str, batch: int, seen: list[int]
) -> None:
    async def handler(event: FileDeleted, delivery: Delivery) -> None:
        seen.append(1)

    spec = ConsumerSpec(
        durable=durable,
        handler=handler,
        event_types=(FileDeleted,),
        filter_subjects=subscription_subjects(registry, [FileDeleted]),
        retry=RetryPolicy(max_deliver=5, backoff=(1.0,)),
        ack_wait=30.0,
        max_ack_pending=1000,
        batch_size=batch,
    )
    nc = await nats.connect(settings.url, **settings.connect_options())
    js = nc.jetstream()
    await ensure_consumer(js, settings.stream, spec.config())
    proc = MessageProcessor(spec, registry=registry, settings=settings, js=js)
    puller = BatchPuller(nc, settings.stream, durable)
    await puller.start()
    while len(seen) < EVENTS:
        msgs = await puller.fetch(batch, expires=1.0)
        if batch == 1:
            for m in msgs:
                await proc.process(m)
        else:
            await asyncio.gather(*(proc.process(m) for m in msgs))
    await puller.close()
    await nc.drain()


async def test_consumer_throughput(nats_namespace: NatsNamespace) -> None:
    settings = namespaced_settings(nats_namespace)
    registry = Registry(ALL_EVENTS, subject_root=settings.subject_root)
    nc = await nats.connect(settings.url)
    js = nc.jetstream()
    await provision(js, settings)
    pub = Publisher(js, registry, stream=settings.stream)
    for start in range(0, EVENTS, 500):
        await asyncio.gather(*(pub.publish(_event(n)) for n in range(start, start + 500)))
    await nc.close()
    print(f"\nmachine: {machine_description()}")
    for batch in (1, 50):
        for kind in ("faststream", "raw", "faststream", "raw"):
            seen: list[int] = []
            durable = f"b-{kind}-{batch}-{uuid.uuid4().hex[:6]}"
            t0, c0 = time.perf_counter(), time.process_time()
            if kind == "raw":
                await _raw(settings, registry, durable, batch, seen)
            else:
                bus = Bus(settings, registry, producer="bench")

                @bus.consumer(durable, events=[FileDeleted], batch_size=batch)
                async def h(event: FileDeleted, delivery: Delivery, seen: list[int] = seen) -> None:
                    seen.append(1)

                async with bus.running():
                    await eventually(partial(_done, seen), within=600)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(
                f"bus consumer {kind:10} batch {batch:3}: {EVENTS / wall:8,.0f} msg/s, "
                f"{cpu / EVENTS * 1e6:6.0f} us CPU/msg"
            )
            assert len(seen) >= EVENTS
