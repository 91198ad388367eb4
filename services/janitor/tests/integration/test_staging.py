"""Staging objects (what clients write) left after their session: swept once, never originals.

Real SeaweedFS and JetStream: the events are published to the test's stream
and read by the real projection consumer.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import UploadSessionOpened, utc_now
from mediaplane.janitor.config import JanitorSettings
from mediaplane.storage import ObjectStore

pytestmark = pytest.mark.integration


async def keys(objects: ObjectStore, bucket: str) -> list[str]:
    return [summary.key for summary in await objects.list_objects(bucket)]


async def test_staging_leftovers_of_ended_sessions_are_removed_once_and_originals_never(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
    janitor_events: Any,
) -> None:
    bucket = settings.originals_bucket
    past, future = utc_now() - timedelta(hours=3), utc_now() + timedelta(hours=5)

    def session(name: str, expires_at: Any = past, legacy: bool = False) -> UploadSessionOpened:
        file_id = uuid.uuid4()
        key = f"alice/{name}-{file_id}" if legacy else f"alice/{name}-{file_id}/upload"
        opened: UploadSessionOpened = events.opened(
            mode="single", key=key, expires_at=expires_at, file_id=file_id
        )
        return opened

    def original(opened: UploadSessionOpened) -> str:
        return opened.object_key.removesuffix("/upload") + "/original"

    replayed = session("replayed")  # completed, verified, then PUT again with the old URL
    aborted = session("aborted")  # aborted, then PUT again
    unverified = session("unverified")  # completed; the verifier has not judged it yet
    live = session("live", expires_at=future)  # its URL may still write
    clean = session("clean")  # completed, verified, nothing left
    legacy = session("legacy", legacy=True)  # old layout: the key IS the original

    for opened in (replayed, aborted, unverified, live):
        await objects.put_bytes(bucket, opened.object_key, b"x" * 100)
    for opened in (replayed, unverified, live, clean):
        await objects.put_bytes(bucket, original(opened), b"o" * 10)
    await objects.put_bytes(bucket, legacy.object_key, b"o" * 10)

    published: list[Any] = [aborted, events.aborted(aborted)]
    for opened in (replayed, unverified, live, clean):
        published += [
            opened,
            events.completed(opened),
            events.uploaded_v2(opened, original(opened)),
        ]
    for opened in (replayed, live, clean):
        published.append(events.verified(opened.file_id, original(opened)))
    published += [
        legacy,
        events.completed(legacy),
        events.uploaded(legacy.file_id, legacy.object_key),  # a v1 event, upcast
        events.verified(legacy.file_id, legacy.object_key),
    ]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    async with make_janitor() as janitor:
        actions = await janitor.service.remove_orphans()
        again = await janitor.service.remove_orphans()

    assert sorted((a.kind, a.subject, a.bytes_freed) for a in actions) == sorted(
        [
            ("remove_orphan", str(replayed.session_id), 100),
            ("remove_orphan", str(aborted.session_id), 100),
        ]
    )
    assert again == []
    assert sorted(await keys(objects, bucket)) == sorted(
        [
            unverified.object_key,
            live.object_key,
            legacy.object_key,
            *(original(o) for o in (replayed, unverified, live, clean)),
        ]
    )
    recorded = sorted(janitor_events())
    assert recorded == sorted(
        (
            f"janitor-{opened.session_id}",
            "janitor.orphan.removed.v1",
            {
                "bucket": bucket,
                "key": opened.object_key,
                "upload_id": None,
                "size": 100,
                "reason": "staging_leftover",
            },
        )
        for opened in (replayed, aborted)
    )
    removed = janitor.service.metrics.registry.get_sample_value("janitor_orphans_removed_total")
    assert removed == 2


async def test_a_deleted_files_staging_object_goes_with_its_original(
    settings: JanitorSettings,
    objects: ObjectStore,
    projection: Bus,
    projected: Any,
    make_janitor: Any,
    events: Any,
) -> None:
    bucket = settings.originals_bucket
    file_id = uuid.uuid4()
    opened = events.opened(
        mode="single",
        key=f"alice/{file_id}/upload",
        expires_at=utc_now() + timedelta(hours=5),
        file_id=file_id,
    )
    await objects.put_bytes(bucket, f"alice/{file_id}/upload", b"s" * 7)
    await objects.put_bytes(bucket, f"alice/{file_id}/original", b"o" * 5)
    published = [
        opened,
        events.uploaded_v2(opened, f"alice/{file_id}/original"),
        events.deleted(file_id),
    ]
    for event in published:
        await projection.publish(event)
    await projected(len(published))

    async with make_janitor() as janitor:
        [purge] = await janitor.service.purge_files()

    assert (purge.subject, purge.bytes_freed) == (str(file_id), 12)
    assert await keys(objects, bucket) == []
