"""Events naming another owner's object never become something the janitor deletes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import nats
import psycopg
import pytest

from mediaplane.bus import Bus, read_dead_letters
from mediaplane.bus.testing import eventually
from mediaplane.contracts import utc_now
from mediaplane.janitor.config import PROJECTION_DURABLE, JanitorSettings
from mediaplane.janitor.worker.projection import register_projection

pytestmark = pytest.mark.integration


async def test_forged_object_references_are_dead_lettered_at_once(
    settings: JanitorSettings, projection: Bus, events: Any
) -> None:
    victim = uuid.uuid4()
    forged_upload = events.uploaded(victim, f"bob/{victim}")  # alice's file, bob's object
    forged_session = events.opened(key=f"bob/{victim}/upload", expires_at=utc_now())
    await projection.publish(forged_upload)
    await projection.publish(forged_session)
    nc = await nats.connect(settings.bus.url)
    try:
        js = nc.jetstream()

        async def both_dead_lettered() -> bool:
            return len(await read_dead_letters(js, settings.bus)) == 2

        await eventually(both_dead_lettered)
        letters = await read_dead_letters(js, settings.bus)
    finally:
        await nc.close()

    assert [(x.consumer, x.deliveries) for x in letters] == [(PROJECTION_DURABLE, 1)] * 2
    assert [x.reason for x in letters] == [
        f"poison: object key 'bob/{victim}' is not under its owner's prefix 'alice/'",
        f"poison: object key 'bob/{victim}/upload' is not under its owner's prefix 'alice/'",
    ]
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM janitor_file_objects").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM janitor_sessions").fetchone() == (0,)


async def test_a_batch_with_a_poison_message_projects_the_rest_and_dead_letters_it(
    settings: JanitorSettings, make_janitor: Any, events: Any, projected: Any
) -> None:
    # Published before the consumer starts, so its first fetch holds all five.
    good = [uuid.uuid4() for _ in range(4)]
    victim = uuid.uuid4()
    async with make_janitor() as resources:
        producer = Bus(settings.bus, resources.registry, producer="test")
        async with producer.running():
            for file_id in good[:2]:
                await producer.publish(events.uploaded(file_id, f"alice/{file_id}"))
            await producer.publish(events.uploaded(victim, f"bob/{victim}"))
            for file_id in good[2:]:
                await producer.publish(events.uploaded(file_id, f"alice/{file_id}"))
        consumer = Bus(settings.bus, resources.registry, producer="test")
        register_projection(consumer, resources.service, asyncio.Event())
        async with consumer.running():
            await projected(len(good))
    nc = await nats.connect(settings.bus.url)
    try:
        letters = await read_dead_letters(nc.jetstream(), settings.bus)
    finally:
        await nc.close()

    assert [(x.consumer, x.deliveries, x.reason) for x in letters] == [
        (
            PROJECTION_DURABLE,
            1,
            f"poison: object key 'bob/{victim}' is not under its owner's prefix 'alice/'",
        )
    ]
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute("SELECT file_id FROM janitor_files").fetchall()
    assert sorted(row[0] for row in rows) == sorted(good)
