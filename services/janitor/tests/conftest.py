"""Fixtures: a janitor wired to this test's own database, buckets and JetStream names.

Tests feed the projection the way production does: real contract events
published to the test's JetStream stream and read by the `janitor-projection`
consumer; objects and multipart uploads are real ones in SeaweedFS.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from mediaplane.bus import Bus, BusSettings
from mediaplane.bus.testing import eventually, namespaced_settings
from mediaplane.contracts import (
    Event,
    EventContext,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    Rendition,
    Thumbnail,
    ThumbnailGenerated,
    ThumbnailSource,
    TranscodeCompleted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
    new_event,
    utc_now,
)
from mediaplane.devstack.pytest_plugin import NatsNamespace, bucket_admin
from mediaplane.devstack.settings import StackSettings
from mediaplane.janitor.app.bootstrap import Resources, apply_migrations, open_resources
from mediaplane.janitor.config import JanitorSettings
from mediaplane.janitor.worker.projection import register_projection
from mediaplane.storage import ObjectStore

CONTEXT = EventContext(producer="test", correlation_id="test-correlation")


def bus_settings(namespace: NatsNamespace) -> BusSettings:
    return namespaced_settings(namespace)


@pytest.fixture
def derived_buckets(stack: StackSettings, s3_bucket: str) -> Iterator[tuple[str, str]]:
    """Renditions and thumbnails buckets next to the originals bucket `s3_bucket`."""
    admin = bucket_admin(stack)
    names = (f"{s3_bucket}-r", f"{s3_bucket}-t")
    for name in names:
        admin.ensure(name)
    yield names
    for name in names:
        admin.empty_and_remove(name)


@pytest.fixture
async def settings(
    stack: StackSettings,
    pg_url: str,
    nats_namespace: NatsNamespace,
    s3_bucket: str,
    derived_buckets: tuple[str, str],
) -> JanitorSettings:
    built = JanitorSettings(
        database_url=pg_url,
        bus=bus_settings(nats_namespace),
        storage=stack.storage_settings(),
        originals_bucket=s3_bucket,
        renditions_bucket=derived_buckets[0],
        thumbnails_bucket=derived_buckets[1],
        expiry_grace=timedelta(hours=1),
        orphan_grace=timedelta(hours=1),
    )
    await apply_migrations(built)
    return built


@pytest.fixture
def objects(settings: JanitorSettings) -> ObjectStore:
    return ObjectStore(settings.storage)


MakeJanitor = Callable[..., AbstractAsyncContextManager[Resources]]


@pytest.fixture
def make_janitor(settings: JanitorSettings) -> MakeJanitor:
    """`async with make_janitor(clock=...)`: one janitor process's resources (own pool)."""

    def build(**kwargs: Any) -> AbstractAsyncContextManager[Resources]:
        return open_resources(settings, pool_size=4, **kwargs)

    return build


@pytest.fixture
async def projection(settings: JanitorSettings, make_janitor: MakeJanitor) -> AsyncIterator[Bus]:
    """The `janitor-projection` consumer running; publish events with the returned bus."""
    async with make_janitor() as resources:
        bus = Bus(settings.bus, resources.registry, producer="test")
        register_projection(bus, resources.service, asyncio.Event())
        async with bus.running():
            yield bus


Projected = Callable[..., Any]


@pytest.fixture
def projected(settings: JanitorSettings, make_janitor: MakeJanitor) -> Projected:
    """`await projected(n)`: the projection has applied n events and acked everything."""

    async def wait(count: int) -> None:
        async with make_janitor() as resources:

            async def caught_up() -> bool:
                progress = await resources.service.progress()
                return progress.started and progress.behind_since is None

            await eventually(lambda: processed_count(settings) >= count, within=20)
            await eventually(caught_up, within=20)
        assert processed_count(settings) == count

    return wait


def processed_count(settings: JanitorSettings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM janitor_processed_events").fetchone()
    assert row is not None
    return int(row[0])


JanitorEvents = Callable[..., list[tuple[str, str, dict[str, Any]]]]


@pytest.fixture
def janitor_events(settings: JanitorSettings) -> JanitorEvents:
    """`janitor_events()` -> (stream_id, type, data) of the janitor's own event log, in order."""

    def read() -> list[tuple[str, str, dict[str, Any]]]:
        with psycopg.connect(settings.database_url) as conn:
            rows = conn.execute(
                "SELECT stream_id, type, data FROM event_log ORDER BY position"
            ).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    return read


class Events:
    """Contract events as the other services publish them."""

    def __init__(self, settings: JanitorSettings) -> None:
        self.settings = settings

    def opened(
        self,
        *,
        mode: str = "multipart",
        key: str | None = None,
        upload_id: str | None = None,
        expires_at: datetime,
        session_id: uuid.UUID | None = None,
        file_id: uuid.UUID | None = None,
    ) -> UploadSessionOpened:
        session_id = session_id or uuid.uuid4()
        file_id = file_id or uuid.uuid4()
        return new_event(
            UploadSessionOpened,
            occurred_at=utc_now(),
            stream_id=f"upload-{session_id}",
            context=CONTEXT,
            session_id=session_id,
            file_id=file_id,
            owner="alice",
            mode=mode,
            bucket=self.settings.originals_bucket,
            object_key=key or f"alice/{file_id}",
            filename="f.mp4",
            content_type="video/mp4",
            size=3000,
            part_size=1000,
            part_count=3 if mode == "multipart" else 1,
            expires_at=expires_at,
            upload_id=upload_id,
        )

    def completed(self, opened: UploadSessionOpened) -> UploadSessionCompleted:
        return new_event(
            UploadSessionCompleted,
            occurred_at=utc_now(),
            stream_id=opened.stream_id,
            context=CONTEXT,
            session_id=opened.session_id,
            file_id=opened.file_id,
            size=opened.size,
            etag="etag",
            part_count=opened.part_count,
        )

    def aborted(self, opened: UploadSessionOpened) -> UploadSessionAborted:
        return new_event(
            UploadSessionAborted,
            occurred_at=utc_now(),
            stream_id=opened.stream_id,
            context=CONTEXT,
            session_id=opened.session_id,
            file_id=opened.file_id,
            reason="client",
        )

    def uploaded(self, file_id: uuid.UUID, key: str) -> FileUploaded:
        return new_event(
            FileUploaded,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            owner="alice",
            bucket=self.settings.originals_bucket,
            object_key=key,
            filename="f.mp4",
            content_type="video/mp4",
            size=1,
        )

    def uploaded_v2(self, opened: UploadSessionOpened, original_key: str) -> FileUploadedV2:
        """As the gateway emits it now: the session's staging key and the original's."""
        return new_event(
            FileUploadedV2,
            occurred_at=utc_now(),
            stream_id=f"file-{opened.file_id}",
            context=CONTEXT,
            file_id=opened.file_id,
            session_id=opened.session_id,
            owner="alice",
            bucket=self.settings.originals_bucket,
            object_key=opened.object_key,
            original_key=original_key,
            filename="f.mp4",
            content_type="video/mp4",
            size=opened.size,
        )

    def verified(self, file_id: uuid.UUID, key: str) -> FileVerified:
        return new_event(
            FileVerified,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            owner="alice",
            bucket=self.settings.originals_bucket,
            object_key=key,
            sha256="0" * 64,
            size=1,
            media_type="video/mp4",
            kind="video",
        )

    def transcoded(self, file_id: uuid.UUID, *, folder: str | None = None) -> TranscodeCompleted:
        folder = folder or f"{file_id}/hls"
        renditions = [
            Rendition(
                name=name,
                width=640,
                height=360,
                bandwidth=1,
                average_bandwidth=1,
                codecs="avc1",
                frame_rate=30.0,
                playlist_key=f"{folder}/{name}/index.m3u8",
                segment_count=2,
            )
            for name in ("360p", "720p")
        ]
        return new_event(
            TranscodeCompleted,
            occurred_at=utc_now(),
            stream_id=f"transcode-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            job_id=uuid.uuid4(),
            bucket=self.settings.renditions_bucket,
            master_playlist_key=f"{folder}/master.m3u8",
            renditions=renditions,
            duration=4.0,
            elapsed=1.0,
        )

    def thumbnails(self, file_id: uuid.UUID, keys: list[str]) -> ThumbnailGenerated:
        return new_event(
            ThumbnailGenerated,
            occurred_at=utc_now(),
            stream_id=f"thumbnail-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            bucket=self.settings.thumbnails_bucket,
            thumbnails=[
                Thumbnail(name=key, width=160, height=90, format="webp", key=key, size=10)
                for key in keys
            ],
            source=ThumbnailSource(width=1280, height=720, format="video"),
        )

    def deleted(self, file_id: uuid.UUID) -> FileDeleted:
        return new_event(
            FileDeleted,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            owner="alice",
            deleted_by="alice",
        )

    def moderated(self, file_id: uuid.UUID, *, taken_down: bool) -> Event:
        cls = FileTakenDown if taken_down else FileRestored
        return new_event(
            cls,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            owner="alice",
            moderator="mod",
            reason="abuse" if taken_down else "appeal upheld",
        )

    def rejected(self, file_id: uuid.UUID) -> FileRejected:
        return new_event(
            FileRejected,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=CONTEXT,
            file_id=file_id,
            owner="alice",
            code="checksum_mismatch",
            detail="declared another hash",
        )


@pytest.fixture
def events(settings: JanitorSettings) -> Events:
    return Events(settings)


@pytest.fixture
def upload_parts(objects: ObjectStore) -> Callable[..., Any]:
    """`await upload_parts(bucket, key, sizes)` -> upload id of a multipart upload with those parts.

    Parts go through presigned URLs, as clients send them.
    """

    async def start(bucket: str, key: str, sizes: list[int]) -> str:
        upload_id = await objects.create_multipart_upload(bucket, key)
        async with httpx.AsyncClient(timeout=30) as http:
            for number, size in enumerate(sizes, start=1):
                signed = objects.presign_upload_part(
                    bucket, key, upload_id, number, expires=timedelta(minutes=5)
                )
                response = await http.put(signed.url, content=b"x" * size)
                assert response.status_code == 200, response.text
        return upload_id

    return start
