"""The ingest consumer against real JetStream: batches, redeliveries, dead letters, replay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import nats
import psycopg
import pytest
from nats.js import JetStreamContext

from mediaplane.bus import BusSettings, provision, read_dead_letters
from mediaplane.bus.testing import eventually, settled
from mediaplane.catalog.config import CatalogSettings, IngestSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.catalog.ingest.replay import replay
from mediaplane.catalog.testing import FileStory, synthetic_events
from mediaplane.contracts import Event, Registry
from mediaplane.contracts import headers as h

pytestmark = pytest.mark.integration


@pytest.fixture
async def js(bus_settings: BusSettings) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(bus_settings.url)
    context = nc.jetstream()
    await provision(context, bus_settings)
    yield context
    await nc.close()


async def publish(
    js: JetStreamContext, registry: Registry, event: Event, *, msg_id: str | None = None
) -> None:
    await js.publish(
        registry.subject_of(event),
        registry.encode(event),
        headers={h.MSG_ID: msg_id or str(event.event_id), h.EVENT_TYPE: event.tag()},
    )


def count(settings: CatalogSettings, query: str) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
async def consumer(settings: CatalogSettings, pool: Any, registry: Registry) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_ingest(
            pool=pool,
            registry=registry,
            bus=settings.bus,
            settings=IngestSettings(batch_size=100, max_deliver=2, backoff=(0.1,)),
            stop=stop,
        )
    )
    yield
    stop.set()
    await asyncio.wait_for(task, 30)


async def test_events_published_three_times_are_one_ledger_row_and_one_file(
    settings: CatalogSettings, js: JetStreamContext, registry: Registry, consumer: None
) -> None:
    story = FileStory(owner="alice", kind="image").opened().uploaded().verified().thumbnailed()
    for copy in range(3):
        for event in story.events:
            # Distinct message ids defeat JetStream's dedup: three real deliveries.
            await publish(js, registry, event, msg_id=f"{event.event_id}:{copy}")

    await eventually(lambda: count(settings, "SELECT count(*) FROM ledger") == 5)
    await eventually(
        lambda: count(settings, "SELECT count(*) FROM files WHERE thumbnail_status='ready'") == 1
    )
    # Every copy delivered and acked: they changed nothing.
    await eventually(lambda: settled(js, settings.bus, IngestSettings().durable))
    assert count(settings, "SELECT count(*) FROM ledger") == 5
    assert count(settings, "SELECT count(*) FROM thumbnails") == 2


async def test_poison_and_unknown_messages(
    settings: CatalogSettings, js: JetStreamContext, registry: Registry, consumer: None
) -> None:
    story = FileStory(owner="alice").opened()
    newer = FileStory(owner="alice").opened()
    body = registry.encode(newer.events[0])
    future = body.replace(b'"upload.session.opened.v1"', b'"upload.session.paused.v1"')
    subject = f"{settings.bus.subject_root}."
    await js.publish(subject + "upload.session.paused.v1", future, headers={h.MSG_ID: "f1"})
    await js.publish(subject + "file.uploaded.v1", b"{not json", headers={h.MSG_ID: "p1"})
    await js.publish(
        subject + "file.uploaded.v1",
        b'{"type": "file.uploaded.v1", "event_id": "0192f0a1-7c3e-7b7a-9d2e-1a2b3c4d5e6f", '
        b'"occurred_at": "2026-01-01T00:00:00Z", "stream_id": "file-x"}',
        headers={h.MSG_ID: "p2"},
    )
    await publish(js, registry, story.events[0])

    await eventually(lambda: count(settings, "SELECT count(*) FROM ledger") == 2)
    assert count(settings, "SELECT count(*) FROM ledger WHERE NOT known") == 1
    assert count(settings, "SELECT count(*) FROM upload_sessions") == 1

    async def two_dead_letters() -> bool:
        return len(await read_dead_letters(js, settings.bus)) == 2

    await eventually(two_dead_letters)
    letters = await read_dead_letters(js, settings.bus)
    assert all(letter.consumer == "catalog-ingest" for letter in letters)
    assert all(letter.reason.startswith("undecodable") for letter in letters)


async def test_forged_object_references_are_dead_lettered_and_never_downloadable(
    settings: CatalogSettings, js: JetStreamContext, registry: Registry, consumer: None
) -> None:
    """The catalog presigns downloads from what file events name: an event naming another
    owner's key (or a bucket other than the originals) never reaches the projections."""
    forged = FileStory(owner="alice", kind="image").opened().uploaded().verified()
    stolen = f"bob/{forged.file_id}"
    forged.events[:] = [
        msgspec.structs.replace(e, object_key=stolen) if hasattr(e, "object_key") else e
        for e in forged.events
    ]
    elsewhere = FileStory(owner="alice", kind="image").opened()
    elsewhere.events[0] = msgspec.structs.replace(elsewhere.events[0], bucket="thumbnails")
    genuine = FileStory(owner="alice", kind="image").opened().uploaded().verified()
    published = [*forged.events, *elsewhere.events, *genuine.events]
    for event in published:
        await publish(js, registry, event)

    async def four_dead_letters() -> bool:
        return len(await read_dead_letters(js, settings.bus)) == 4

    await eventually(four_dead_letters)
    trusted = len(published) - 4  # e.g. the forged session's completion: it names no object
    await eventually(lambda: count(settings, "SELECT count(*) FROM ledger") == trusted)
    letters = await read_dead_letters(js, settings.bus)
    assert [letter.deliveries for letter in letters] == [1, 1, 1, 1]  # not retried
    assert [letter.reason for letter in letters[:3]] == [
        f"poison: object key {stolen!r} is not under its owner's prefix 'alice/'"
    ] * 3
    assert letters[3].reason == "poison: bucket 'thumbnails' is not one of ['originals']"
    assert count(settings, f"SELECT count(*) FROM files WHERE file_id = '{forged.file_id}'") == 0
    assert count(settings, f"SELECT count(*) FROM files WHERE file_id = '{genuine.file_id}'") == 1


async def test_a_message_that_keeps_failing_is_dead_lettered_after_max_deliveries(
    settings: CatalogSettings, js: JetStreamContext, registry: Registry, consumer: None
) -> None:
    good = FileStory(owner="alice").opened()
    bad = FileStory(owner="bob").opened()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        # A fault in this one event's projection (e.g. a constraint the data breaks).
        conn.execute("ALTER TABLE upload_sessions ADD CONSTRAINT no_bob CHECK (owner <> 'bob')")
    await publish(js, registry, bad.events[0])
    await publish(js, registry, good.events[0])

    async def dead_lettered() -> bool:
        return len(await read_dead_letters(js, settings.bus)) == 1

    await eventually(dead_lettered)
    [letter] = await read_dead_letters(js, settings.bus)
    assert "handler failed on delivery 2/2" in letter.reason
    assert "CheckViolation" in letter.reason
    # The good event of the same fetch was not held back by the bad one.
    assert count(settings, "SELECT count(*) FROM upload_sessions") == 1
    assert count(settings, "SELECT count(*) FROM ledger") == 1


async def test_replay_from_a_sequence_restores_lost_ledger_rows(
    settings: CatalogSettings, js: JetStreamContext, registry: Registry, pool: Any
) -> None:
    events = synthetic_events(300, seed=9)
    for event in events:
        await publish(js, registry, event)

    first = await replay(
        pool=pool, registry=registry, bus=settings.bus, originals_bucket="originals", from_seq=1
    )
    again = await replay(
        pool=pool, registry=registry, bus=settings.bus, originals_bucket="originals", from_seq=200
    )

    assert (first.read, first.inserted, first.last_sequence) == (
        len(events),
        len(events),
        len(events),
    )
    assert (again.read, again.inserted, again.duplicates) == (
        len(events) - 199,
        0,
        len(events) - 199,
    )
    assert count(settings, "SELECT count(*) FROM ledger") == len(events)
    assert count(settings, "SELECT count(*) FROM files") > 20
