"""Bus consumers: messages/s and CPU per message of a no-op handler (docs/adr/0004).

Commit fb39b81 holds the version that compared the FastStream-based `Bus`
with the nats-py loop it was replaced by, in one run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from functools import partial

import nats

from mediaplane.bus import Bus, Delivery, Publisher, provision
from mediaplane.bus.testing import eventually, namespaced_settings
from mediaplane.contracts import ALL_EVENTS, EventContext, FileDeleted, Registry, new_event, utc_now
from mediaplane.devstack.pytest_plugin import NatsNamespace

from .conftest import machine_description

EVENTS = 10_000


def _body(data: bytes, delivery: Delivery) -> bytes:
    return data


def _done(seen: list[int]) -> bool:
    return len(seen) >= EVENTS


def _event(n: int) -> FileDeleted:
    return new_event(
        FileDeleted,
        stream_id=f"file-{n}",
        context=EventContext(producer="bench", correlation_id=f"c-{n}"),
        occurred_at=utc_now(),
        file_id=uuid.uuid4(),
        owner="alice",
        deleted_by="alice",
    )


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
    for mode, batch in (("handler", 1), ("handler", 50), ("batch", 500)):
        seen: list[int] = []
        bus = Bus(settings, registry, producer="bench")
        durable = f"b-{mode}-{batch}"
        if mode == "handler":

            @bus.consumer(durable, events=[FileDeleted], batch_size=batch)
            async def h(event: FileDeleted, delivery: Delivery, seen: list[int] = seen) -> None:
                seen.append(1)
        else:

            @bus.batch_consumer(durable, decode=_body, events=[FileDeleted], batch_size=batch)
            async def b(items: Sequence[bytes], seen: list[int] = seen) -> None:
                seen.extend(1 for _ in items)

        t0, c0 = time.perf_counter(), time.process_time()
        async with bus.running():
            await eventually(partial(_done, seen), within=600)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"bus {mode} consumer, batch {batch:3}: {EVENTS / wall:8,.0f} msg/s, "
            f"{cpu / EVENTS * 1e6:6.0f} us CPU/msg"
        )
        assert len(seen) >= EVENTS
