"""Expiry, reconciliation and purge against real SeaweedFS, fed through real JetStream."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import utc_now
from mediaplane.janitor.app.bootstrap import Resources
from mediaplane.janitor.config import JanitorSettings
from mediaplane.janitor.worker.projection import register_projection
from mediaplane.storage import ObjectStore, UploadNotFound

pytestmark = pytest.mark.integration

LATER = timedelta(hours=2)  # the janitor's clock runs ahead: orphans look old enough


def ahead() -> datetime:
    return utc_now() + LATER


def consumer(janitor: Resources) -> Bus:
    """A bus running the janitor's projection consumer (as the worker does)."""
    bus = Bus(janitor.settings.bus, janitor.registry, producer="test")
    register_projection(bus, janitor.service, asyncio.Event())
    return bus


async def keys(objects: ObjectStore, bucket: str) -> list[str]:
    return [summary.key for summary in await objects.list_objects(bucket)]


async def test_expired_sessions_lose_their_bytes_and_finished_ones_are_never_touched(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    upload_parts: Any,
    janitor_events: Any,
) -> None:
    bucket = settings.originals_bucket
    past, future = utc_now() - timedelta(hours=3), utc_now() + timedelta(hours=5)
    expired_upload = await upload_parts(bucket, "alice/expired-multipart", [1500, 700])
    live_upload = await upload_parts(bucket, "alice/live-multipart", [100])
    await objects.put_bytes(bucket, "alice/expired-single", b"s" * 321)
    await objects.put_bytes(bucket, "alice/completed", b"c" * 50)
    await objects.put_bytes(bucket, "alice/aborted", b"a" * 10)

    multipart = events.opened(
        key="alice/expired-multipart", upload_id=expired_upload, expires_at=past
    )
    single = events.opened(mode="single", key="alice/expired-single", expires_at=past)
    never_written = events.opened(mode="single", key="alice/never-written", expires_at=past)
    completed = events.opened(mode="single", key="alice/completed", expires_at=past)
    aborted = events.opened(mode="single", key="alice/aborted", expires_at=past)
    live = events.opened(key="alice/live-multipart", upload_id=live_upload, expires_at=future)
    # The completion arrives before its `opened` (a redelivery): it still counts.
    published = [
        multipart,
        single,
        never_written,
        events.completed(completed),
        completed,
        aborted,
        events.aborted(aborted),
        live,
    ]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    async with make_janitor() as janitor:
        actions = await janitor.service.expire_sessions()
        again = await janitor.service.expire_sessions()

    assert sorted(a.subject for a in actions) == sorted(
        str(s.session_id) for s in (multipart, single, never_written)
    )
    assert again == []
    with pytest.raises(UploadNotFound):
        await objects.list_parts(bucket, "alice/expired-multipart", expired_upload)
    in_progress = {u.upload_id for u in await objects.list_multipart_uploads(bucket)}
    assert in_progress == {live_upload}
    assert await keys(objects, bucket) == ["alice/aborted", "alice/completed"]

    recorded = {stream: (kind, data) for stream, kind, data in janitor_events()}
    assert len(recorded) == 3
    assert recorded[f"janitor-{multipart.session_id}"] == (
        "janitor.session.expired.v1",
        {
            "session_id": str(multipart.session_id),
            "file_id": str(multipart.file_id),
            "multipart_aborted": True,
            "object_deleted": False,
            "bytes_freed": 2200,
        },
    )
    _, single_data = recorded[f"janitor-{single.session_id}"]
    assert (single_data["object_deleted"], single_data["bytes_freed"]) == (True, 321)
    _, nothing_data = recorded[f"janitor-{never_written.session_id}"]
    assert (nothing_data["multipart_aborted"], nothing_data["object_deleted"]) == (False, False)
    assert janitor.service.metrics.registry.get_sample_value("janitor_sessions_expired_total") == 3


async def test_an_orphan_multipart_upload_is_aborted_and_known_ones_are_kept(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    upload_parts: Any,
    janitor_events: Any,
) -> None:
    bucket = settings.originals_bucket
    orphan = await upload_parts(bucket, "alice/orphan", [400, 600])
    known = await upload_parts(bucket, "alice/known", [10])
    session = events.opened(
        key="alice/known", upload_id=known, expires_at=utc_now() + timedelta(hours=24)
    )
    await projection.publish(session)
    await projected(1)

    async with make_janitor(clock=ahead) as janitor:
        actions = await janitor.service.remove_orphans()
        again = await janitor.service.remove_orphans()

    assert [(a.kind, a.subject, a.bytes_freed) for a in actions] == [
        ("remove_orphan", orphan, 1000)
    ]
    assert again == []
    assert [u.upload_id for u in await objects.list_multipart_uploads(bucket)] == [known]
    assert janitor_events() == [
        (
            f"janitor-{orphan}",
            "janitor.orphan.removed.v1",
            {
                "bucket": bucket,
                "key": "alice/orphan",
                "upload_id": orphan,
                "size": 1000,
                "reason": "unknown_upload",
            },
        )
    ]


async def test_young_uploads_are_no_orphans_yet(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    upload_parts: Any,
) -> None:
    bucket = settings.originals_bucket
    young = await upload_parts(bucket, "alice/young", [10])
    await projection.publish(events.deleted(uuid.uuid4()))  # the consumer exists and is current
    await projected(1)
    async with make_janitor() as janitor:
        assert await janitor.service.remove_orphans() == []
    assert [u.upload_id for u in await objects.list_multipart_uploads(bucket)] == [young]


async def test_a_deleted_files_original_renditions_and_thumbnails_are_purged(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    janitor_events: Any,
) -> None:
    doomed, kept = uuid.uuid4(), uuid.uuid4()
    originals, renditions, thumbnails = (
        settings.originals_bucket,
        settings.renditions_bucket,
        settings.thumbnails_bucket,
    )
    stored = {
        (originals, f"alice/{doomed}"): 1000,
        (renditions, f"{doomed}/hls/master.m3u8"): 10,
        (renditions, f"{doomed}/hls/360p/index.m3u8"): 20,
        (renditions, f"{doomed}/hls/360p/seg-0.ts"): 300,
        (renditions, f"{doomed}/hls/720p/index.m3u8"): 20,
        (renditions, f"{doomed}/hls/720p/seg-0.ts"): 600,
        (thumbnails, f"{doomed}/small.webp"): 40,
        (thumbnails, f"{doomed}/large.webp"): 80,
        (originals, f"alice/{kept}"): 5,
        (renditions, f"{kept}/hls/master.m3u8"): 5,
        (thumbnails, f"{kept}/small.webp"): 5,
    }
    for (bucket, key), size in stored.items():
        await objects.put_bytes(bucket, key, b"b" * size)
    published = [
        events.uploaded(doomed, f"alice/{doomed}"),
        events.transcoded(doomed),
        events.thumbnails(doomed, [f"{doomed}/small.webp", f"{doomed}/large.webp"]),
        events.uploaded(kept, f"alice/{kept}"),
        events.transcoded(kept),
        events.thumbnails(kept, [f"{kept}/small.webp"]),
        events.deleted(doomed),
    ]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    async with make_janitor() as janitor:
        actions = await janitor.service.purge_files()
        again = await janitor.service.purge_files()

    assert again == []
    assert [(a.kind, a.subject) for a in actions] == [("purge_file", str(doomed))]
    assert await keys(objects, originals) == [f"alice/{kept}"]
    assert await keys(objects, renditions) == [f"{kept}/hls/master.m3u8"]
    assert await keys(objects, thumbnails) == [f"{kept}/small.webp"]
    doomed_bytes = sum(size for (_, key), size in stored.items() if str(doomed) in key)
    assert janitor_events() == [
        (
            f"janitor-{doomed}",
            "janitor.file.purged.v1",
            {"file_id": str(doomed), "objects_deleted": 8, "bytes_freed": doomed_bytes},
        )
    ]


async def test_objects_announced_after_the_purge_are_purged_too(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    janitor_events: Any,
) -> None:
    file_id = uuid.uuid4()
    await objects.put_bytes(settings.originals_bucket, f"alice/{file_id}", b"o" * 100)
    await objects.put_bytes(settings.thumbnails_bucket, f"{file_id}/late.webp", b"t" * 7)
    await projection.publish(events.uploaded(file_id, f"alice/{file_id}"))
    await projection.publish(events.rejected(file_id))
    await projected(2)
    async with make_janitor() as janitor:
        first = await janitor.service.purge_files()
        # The thumbnailer's stream lagged: its event comes after the purge.
        await projection.publish(events.thumbnails(file_id, [f"{file_id}/late.webp"]))
        await projected(3)
        second = await janitor.service.purge_files()

    assert [a.bytes_freed for a in first] == [100]
    assert [a.bytes_freed for a in second] == [7]
    assert await keys(objects, settings.thumbnails_bucket) == []
    assert [(s, d["objects_deleted"], d["bytes_freed"]) for s, _, d in janitor_events()] == [
        (f"janitor-{file_id}", 1, 100),
        (f"janitor-{file_id}", 1, 7),
    ]


async def test_a_rendition_folder_without_the_file_id_is_not_listed(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
) -> None:
    file_id = uuid.uuid4()
    bucket = settings.renditions_bucket
    for key in ("shared/master.m3u8", "shared/360p/index.m3u8", "shared/other-file.ts"):
        await objects.put_bytes(bucket, key, b"x")
    await projection.publish(events.transcoded(file_id, folder="shared"))
    await projection.publish(events.deleted(file_id))
    await projected(2)
    async with make_janitor() as janitor:
        await janitor.service.purge_files()
    # The named playlists go; the folder may hold other files' segments, so it is not emptied.
    assert await keys(objects, bucket) == ["shared/other-file.ts"]


async def test_dry_run_reports_every_action_and_changes_nothing(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    upload_parts: Any,
    janitor_events: Any,
) -> None:
    bucket = settings.originals_bucket
    expired = await upload_parts(bucket, "alice/expired", [100])
    orphan = await upload_parts(bucket, "alice/orphan", [200])
    file_id = uuid.uuid4()
    await objects.put_bytes(bucket, f"alice/{file_id}", b"f" * 30)
    published = [
        events.opened(key="alice/expired", upload_id=expired, expires_at=utc_now()),
        events.uploaded(file_id, f"alice/{file_id}"),
        events.deleted(file_id),
    ]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    async with make_janitor(clock=ahead) as janitor:
        planned = await janitor.service.sweep(dry_run=True)

    assert [(a.kind, a.bytes_freed, a.dry_run) for a in planned] == [
        ("expire_session", 100, True),
        ("remove_orphan", 200, True),
        ("purge_file", 30, True),
    ]
    assert {u.upload_id for u in await objects.list_multipart_uploads(bucket)} == {
        expired,
        orphan,
    }
    assert await keys(objects, bucket) == [f"alice/{file_id}"]
    assert janitor_events() == []


async def test_sweeps_wait_for_a_lagging_projection(
    settings: JanitorSettings,
    objects: ObjectStore,
    make_janitor: Any,
    events: Any,
    upload_parts: Any,
    projected: Any,
) -> None:
    """A completion the projection has not read yet must not let the session look abandoned."""
    bucket = settings.originals_bucket
    upload_id = await upload_parts(bucket, "alice/slow", [100])
    opened = events.opened(
        key="alice/slow", upload_id=upload_id, expires_at=utc_now() + timedelta(minutes=30)
    )
    async with make_janitor(clock=ahead) as janitor:
        # No consumer yet: nothing is known, nothing may be judged.
        assert await janitor.service.sweep() == []

        async with consumer(janitor).running() as bus:
            await bus.publish(opened)
            await projected(1)
        async with Bus(settings.bus, janitor.registry, producer="test").running() as bus:
            await bus.publish(events.completed(opened))
        # Two hours "later" the session looks expired, but the projection is
        # behind since the completion was published: the horizon stays there.
        assert await janitor.service.expire_sessions() == []
        assert [u.upload_id for u in await objects.list_multipart_uploads(bucket)] == [upload_id]

        async with consumer(janitor).running():
            await projected(2)
        assert await janitor.service.expire_sessions() == []  # completed: never expired


async def test_a_file_taken_down_beyond_the_retention_is_purged_and_a_restored_one_kept(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    events: Any,
    janitor_events: Any,
) -> None:
    from dataclasses import replace

    from mediaplane.janitor.app.bootstrap import open_resources

    down, restored = uuid.uuid4(), uuid.uuid4()
    originals = settings.originals_bucket
    for file_id in (down, restored):
        await objects.put_bytes(originals, f"alice/{file_id}", b"b" * 100)
    published = [
        events.uploaded(down, f"alice/{down}"),
        events.uploaded(restored, f"alice/{restored}"),
        events.moderated(down, taken_down=True),
        events.moderated(restored, taken_down=True),
        events.moderated(restored, taken_down=False),
    ]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    # Within the retention nothing goes; past it (the janitor's clock 2 h ahead), the
    # taken-down file is purged and the restored one is kept.
    within = replace(settings, takedown_retention=timedelta(hours=3))
    async with open_resources(within, pool_size=2, clock=ahead) as janitor:
        assert await janitor.service.purge_files() == []
    past = replace(settings, takedown_retention=timedelta(hours=1))
    async with open_resources(past, pool_size=2, clock=ahead) as janitor:
        actions = await janitor.service.purge_files()
    assert [(a.kind, a.subject) for a in actions] == [("purge_file", str(down))]
    assert f"alice/{down}" not in await keys(objects, originals)
    assert f"alice/{restored}" in await keys(objects, originals)
    assert janitor_events() == [
        (
            f"janitor-{down}",
            "janitor.file.purged.v1",
            {"file_id": str(down), "objects_deleted": 1, "bytes_freed": 100},
        )
    ]
