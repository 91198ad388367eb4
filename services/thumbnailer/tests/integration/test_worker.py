"""The worker on the bus: file.verified.v1 in, thumbnail.* out through the outbox relay,
corrupt files acknowledged once (no retries, no dead letters), duplicates ignored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import nats
import pytest

from mediaplane.bus import Bus, read_dead_letters
from mediaplane.bus.testing import RecordingHandler, eventually
from mediaplane.contracts import ThumbnailFailed, ThumbnailGenerated
from mediaplane.eventlog import OutboxRelay
from mediaplane.storage import ObjectStore
from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.app.bootstrap import Resources
from mediaplane.thumbnailer.config import SERVICE
from mediaplane.thumbnailer.worker.consumer import DURABLE, register_thumbnailer

pytestmark = pytest.mark.integration

Verified = Callable[..., Any]
Rows = Callable[..., list[dict[str, Any]]]


@asynccontextmanager
async def running(resources: Resources) -> AsyncIterator[tuple[Bus, RecordingHandler]]:
    """The worker and relay roles, plus a consumer that records what the thumbnailer emits."""
    settings = resources.settings
    bus = Bus(settings.bus, resources.registry, producer=SERVICE)
    register_thumbnailer(bus, resources.service)
    outcomes = RecordingHandler()
    bus.consumer("test-thumbnail-outcomes", events=[ThumbnailGenerated, ThumbnailFailed])(outcomes)
    async with (
        bus.running(),
        OutboxRelay(settings.database_url, settings.bus.url, poll_interval=0.2),
    ):
        yield bus, outcomes


async def test_verified_files_get_thumbnail_events_on_the_bus(
    resources: Resources, verified: Verified
) -> None:
    photo = await verified(testing.encode(testing.photo(640, 480), "JPEG"), "image/jpeg", "image")
    broken = await verified(testing.encode(testing.photo(640, 480), "JPEG")[:3000],
                            "image/jpeg", "image")  # fmt: skip
    settings = resources.settings
    async with running(resources) as (bus, outcomes):
        await bus.publish(photo)
        await bus.publish(broken)
        await eventually(lambda: len(outcomes.events) == 2, within=60)

        by_file = {getattr(event, "file_id", None): event for event in outcomes.events}
        generated, failed = by_file[photo.file_id], by_file[broken.file_id]
        assert isinstance(generated, ThumbnailGenerated)
        assert [(t.name, t.width, t.height) for t in generated.thumbnails] == [
            ("small", 160, 120),
            ("medium", 320, 240),
            ("large", 640, 480),
        ]
        assert isinstance(failed, ThumbnailFailed)
        assert failed.code == "corrupt_input"
        for event, cause in ((generated, photo), (failed, broken)):
            assert event.stream_id == f"thumbnail-{cause.file_id}"
            assert (event.causation_id, event.correlation_id) == (
                str(cause.event_id),
                cause.correlation_id,
            )

        # The same file announced again: handled, acknowledged, nothing new emitted.
        again = await verified(b"unused", "image/jpeg", "image", file_id=photo.file_id)
        await bus.publish(again)
        nc = await nats.connect(settings.bus.url)
        try:
            js = nc.jetstream()

            async def all_acknowledged() -> bool:
                info = await js.consumer_info(settings.bus.stream, DURABLE)
                return (
                    info.num_pending == 0
                    and info.num_ack_pending == 0
                    and (info.ack_floor is not None and info.ack_floor.consumer_seq == 3)
                )

            await eventually(all_acknowledged, within=30)
            info = await js.consumer_info(settings.bus.stream, DURABLE)
            assert info.num_redelivered == 0  # the corrupt file was not retried
            assert await read_dead_letters(js, settings.bus) == []
        finally:
            await nc.close()
        assert len(outcomes.events) == 2


async def test_a_forged_event_naming_another_owners_object_is_dead_lettered_at_once(
    resources: Resources, verified: Verified, objects: ObjectStore, rows: Rows
) -> None:
    """Whoever publishes file.verified cannot make the thumbnailer read bob's file for alice."""
    photo = testing.encode(testing.photo(64, 48), "JPEG")
    bobs = await verified(photo, "image/jpeg", "image")  # stored at alice/<id>: make it bob's
    await objects.put_bytes(bobs.bucket, f"bob/{bobs.file_id}", photo, content_type="image/jpeg")
    forged = msgspec.structs.replace(bobs, object_key=f"bob/{bobs.file_id}")
    genuine = await verified(photo, "image/jpeg", "image")
    settings = resources.settings
    async with running(resources) as (bus, outcomes):
        await bus.publish(forged)
        await bus.publish(genuine)
        await eventually(lambda: len(outcomes.events) == 1, within=60)
        nc = await nats.connect(settings.bus.url)
        try:
            [letter] = await read_dead_letters(nc.jetstream(), settings.bus)
        finally:
            await nc.close()

    assert letter.consumer == DURABLE
    assert letter.deliveries == 1  # not retried
    assert letter.reason == (
        f"poison: object key 'bob/{bobs.file_id}' is not under its owner's prefix 'alice/'"
    )
    assert [getattr(e, "file_id", None) for e in outcomes.events] == [genuine.file_id]
    assert await objects.list_objects(settings.bucket, f"{forged.file_id}/") == []
    assert rows("SELECT * FROM thumbnail_jobs WHERE file_id = %s", forged.file_id) == []
