"""A file.verified naming another owner's object never becomes a transcode job, nor a chunk
request naming another bucket an encode."""

from __future__ import annotations

import uuid

import nats
import psycopg
import pytest

from mediaplane.bus import Bus, read_dead_letters
from mediaplane.bus.testing import eventually
from mediaplane.contracts import (
    ChunkSpan,
    EventContext,
    FileVerified,
    TranscodeChunkRequested,
    new_event,
    utc_now,
)
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.app.bootstrap import Resources
from mediaplane.transcoder.worker.consumer import CHUNKS_DURABLE, TRANSCODER_DURABLE

pytestmark = pytest.mark.integration


async def test_a_forged_event_is_dead_lettered_at_once_and_nothing_is_transcoded(
    resources: Resources, worker: Bus, originals: ObjectStore, s3_bucket: str
) -> None:
    file_id = uuid.uuid4()
    forged = new_event(
        FileVerified,
        occurred_at=utc_now(),
        stream_id=f"file-{file_id}",
        context=EventContext(producer="upload-gateway", correlation_id=str(uuid.uuid4())),
        file_id=file_id,
        owner="alice",
        bucket=s3_bucket,
        object_key=f"bob/{file_id}",  # bob's upload, announced as alice's file
        sha256="0" * 64,
        size=1000,
        media_type="video/mp4",
        kind="video",
    )
    settings = resources.settings
    await worker.publish(forged)
    nc = await nats.connect(settings.bus.url)
    try:
        js = nc.jetstream()

        async def dead_lettered() -> bool:
            return len(await read_dead_letters(js, settings.bus)) == 1

        await eventually(dead_lettered)
        [letter] = await read_dead_letters(js, settings.bus)
    finally:
        await nc.close()

    assert (letter.consumer, letter.deliveries) == (TRANSCODER_DURABLE, 1)
    assert letter.reason == (
        f"poison: object key 'bob/{file_id}' is not under its owner's prefix 'alice/'"
    )
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM transcode_jobs").fetchone() == (0,)
    assert await originals.list_objects(settings.bucket, f"{file_id}/") == []


async def test_a_forged_chunk_request_is_dead_lettered_and_nothing_is_encoded(
    resources: Resources, worker: Bus, originals: ObjectStore, s3_bucket: str
) -> None:
    file_id, job_id = uuid.uuid4(), uuid.uuid4()
    forged = new_event(
        TranscodeChunkRequested,
        occurred_at=utc_now(),
        stream_id=f"transcode-{file_id}",
        context=EventContext(producer="transcoder", correlation_id=str(uuid.uuid4())),
        file_id=file_id,
        job_id=job_id,
        owner="alice",
        bucket="thumbnails",  # not the originals bucket
        object_key=f"alice/{file_id}",
        sha256="0" * 64,
        media_type="video/mp4",
        prefix=f"{file_id}/{job_id}",
        chunk=ChunkSpan(index=0, start=0.0, end=8.0, first_segment=0, segments=2),
        chunks_planned=1,
    )
    settings = resources.settings
    await worker.publish(forged)
    nc = await nats.connect(settings.bus.url)
    try:
        js = nc.jetstream()

        async def dead_lettered() -> bool:
            return len(await read_dead_letters(js, settings.bus)) == 1

        await eventually(dead_lettered)
        [letter] = await read_dead_letters(js, settings.bus)
    finally:
        await nc.close()

    assert (letter.consumer, letter.deliveries) == (CHUNKS_DURABLE, 1)
    assert letter.reason.startswith("poison: bucket 'thumbnails' is not one of")
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM event_log").fetchone() == (0,)
    assert await originals.list_objects(settings.bucket, f"{file_id}/") == []
