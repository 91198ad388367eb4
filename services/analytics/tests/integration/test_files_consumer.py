"""The files consumer against real JetStream and Postgres: a fetch folded into one upsert in
stream order, redeliveries changing nothing, poison dead-lettered with its reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from mediaplane.analytics.config import AnalyticsSettings
from mediaplane.analytics.worker.consumers import FILES_DURABLE, register_files
from mediaplane.bus import Bus, provision, read_dead_letters
from mediaplane.bus.testing import eventually, settled
from mediaplane.contracts import Event, Registry, build_registry
from mediaplane.contracts import headers as h
from mediaplane.eventlog.database import Pool

from ..unit.test_files import deleted, transcoded, verified

pytestmark = pytest.mark.integration

Row = tuple[str | None, float | None, bool]


@pytest.fixture
async def js(settings: AnalyticsSettings) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(settings.bus.url)
    context = nc.jetstream()
    await provision(context, settings.bus)
    yield context
    await nc.close()


@pytest.fixture
def registry(settings: AnalyticsSettings) -> Registry:
    return build_registry(settings.bus.subject_root)


async def publish(js: JetStreamContext, registry: Registry, event: Event, msg_id: str) -> None:
    await js.publish(
        registry.subject_of(event),
        registry.encode(event),
        headers={h.MSG_ID: msg_id, h.EVENT_TYPE: event.tag()},
    )


async def rows(pool: Pool) -> dict[uuid.UUID, Row]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT file_id, owner, duration, deleted FROM files")
        return {row[0]: (row[1], row[2], row[3]) for row in await cur.fetchall()}


async def test_file_events_are_stored_in_stream_order_once_and_poison_is_dead_lettered(
    settings: AnalyticsSettings, pool: Pool, js: JetStreamContext, registry: Registry
) -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [
        verified(a, "alice"),
        transcoded(a, 5.0),
        deleted(b),  # streams are not ordered against each other: before its verdict
        transcoded(a, 8.0),  # a new transcode: the last duration counts
        verified(b, "bob"),
        transcoded(c, 3.0),
    ]
    # Published before the consumer starts: one fetch, one statement.
    for event in events:
        await publish(js, registry, event, str(event.event_id))
    await js.publish(
        f"{settings.bus.subject_root}.file.verified.v1", b"{not json", headers={h.MSG_ID: "p1"}
    )
    expected = {a: ("alice", 8.0, False), b: ("bob", None, True), c: (None, 3.0, False)}

    bus = Bus(settings.bus, registry, producer="analytics-test")
    register_files(bus, pool)
    async with bus.running():
        await eventually(lambda: settled(js, settings.bus, FILES_DURABLE))
        assert await rows(pool) == expected
        letters = await read_dead_letters(js, settings.bus)
        assert [(x.consumer, x.deliveries) for x in letters] == [(FILES_DURABLE, 1)]
        assert letters[0].reason.startswith("undecodable: ")

        # Every event again (redelivered, or replayed under new message ids): nothing changes.
        for event in events:
            await publish(js, registry, event, f"again-{event.event_id}")
        await eventually(lambda: settled(js, settings.bus, FILES_DURABLE))
        assert await rows(pool) == expected

        # A later batch carrying one fact keeps the others.
        gone = deleted(a)
        await publish(js, registry, gone, str(gone.event_id))
        await eventually(lambda: settled(js, settings.bus, FILES_DURABLE))
        assert (await rows(pool))[a] == ("alice", 8.0, True)
    assert len(await read_dead_letters(js, settings.bus)) == 1
