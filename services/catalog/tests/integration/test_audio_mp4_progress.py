"""Live transcode progress, the MP4 fallback and audio waveforms in the query API
(real Postgres and SeaweedFS; the fallback's Range request goes to the real presigned URL)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import FileStory
from mediaplane.devstack.pytest_plugin import served
from mediaplane.storage import ObjectStore

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]


async def detail(client: Client, auth: Any, story: FileStory, owner: str = "alice") -> Any:
    response = await client.get(f"/v1/files/{story.file_id}", headers=auth(owner))
    assert response.status_code == 200, response.text
    return response.json()


async def test_progress_shows_while_running_and_goes_with_the_outcome(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified()
    job = story._job_id()
    await ingest_events(story.transcode_started(job).events)
    assert (await detail(client, auth, story))["file"]["transcode_progress"] is None

    await ingest_events(story.transcode_progress(job, 25.0).transcode_progress(job, 50.0).events)
    running = (await detail(client, auth, story))["file"]
    assert (running["transcode_status"], running["transcode_progress"]) == ("running", 50.0)
    listed = (await client.get("/v1/files", headers=auth("alice"))).json()["items"]
    assert [i["transcode_progress"] for i in listed] == [50.0]

    # A late progress event (same instant, any order) never outlives the completion.
    await ingest_events(story.transcode_completed(job).transcode_progress(job, 75.0).events)
    done = (await detail(client, auth, story))["file"]
    assert (done["transcode_status"], done["transcode_progress"]) == ("ready", None)


async def test_a_failed_transcode_drops_its_progress(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified()
    job = story._job_id()
    await ingest_events(
        story.transcode_started(job).transcode_progress(job, 40.0).transcode_failure(job).events
    )
    file = (await detail(client, auth, story))["file"]
    assert (file["transcode_status"], file["transcode_progress"]) == ("failed", None)


async def test_the_mp4_fallback_is_presigned_and_seekable_with_the_files_read_rules(
    client: Client, auth: Any, ingest_events: Any, settings: CatalogSettings, s3_bucket: str
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified()
    job = story._job_id()
    await ingest_events(story.transcode_started(job).transcode_completed(job, s3_bucket).events)
    data = bytes(range(256)) * 16  # the 4096 bytes the event announces
    store = ObjectStore(settings.storage)
    await store.put_bytes(s3_bucket, story.mp4_key(job), data, content_type="video/mp4")

    mp4 = (await detail(client, auth, story))["mp4"]
    assert (mp4["width"], mp4["height"], mp4["size"]) == (1280, 720, 4096)
    redirect = await client.get(
        f"/v1/files/{story.file_id}/mp4", headers=auth("alice"), follow_redirects=False
    )
    assert redirect.status_code == 307
    assert redirect.headers["cache-control"] == "private, no-store"
    location = redirect.headers["location"]
    download = await client.get(
        f"/v1/files/{story.file_id}/mp4",
        headers=auth("alice"),
        params={"download": "true"},
        follow_redirects=False,
    )
    async with httpx.AsyncClient() as http:
        ranged = await http.get(location, headers={"Range": "bytes=1024-2047"})
        attachment = await http.get(download.headers["location"], headers={"Range": "bytes=0-0"})
        inline = await http.get(mp4["url"], headers={"Range": "bytes=4000-"})
    assert ranged.status_code == 206
    assert ranged.headers["content-range"] == "bytes 1024-2047/4096"
    assert ranged.content == data[1024:2048]
    assert ranged.headers["content-type"] == "video/mp4"
    assert ranged.headers["content-disposition"].startswith("inline")
    assert attachment.status_code == 206
    assert attachment.headers["content-disposition"].startswith("attachment")
    assert inline.content == data[4000:]

    # Another owner's file is not found; a file without a fallback has none.
    other = await client.get(f"/v1/files/{story.file_id}/mp4", headers=auth("bob"))
    assert other.status_code == 404
    assert other.json()["code"] == "file_not_found"
    image = FileStory(owner="alice", kind="image").opened().uploaded().verified()
    await ingest_events(image.events)
    none = await client.get(f"/v1/files/{image.file_id}/mp4", headers=auth("alice"))
    assert none.status_code == 404
    assert none.json()["code"] == "mp4_not_found"
    assert (await detail(client, auth, image))["mp4"] is None
    unauthenticated = await client.get(f"/v1/files/{story.file_id}/mp4")
    assert unauthenticated.status_code == 401


async def test_a_deleted_video_serves_no_fallback(
    client: Client, auth: Any, ingest_events: Any
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified().transcoded().deleted()
    await ingest_events(story.events)
    gone = await client.get(f"/v1/files/{story.file_id}/mp4", headers=auth("alice"))
    assert gone.status_code == 404
    assert gone.json()["code"] == "mp4_not_found"


async def test_audio_is_transcoded_with_a_waveform(
    client: Client, auth: Any, ingest_events: Any, settings: CatalogSettings, s3_bucket: str
) -> None:
    story = FileStory(owner="alice", kind="audio").opened().uploaded().verified()
    await ingest_events(story.events)
    pending = await detail(client, auth, story)
    assert pending["file"]["transcode_status"] == "pending"
    assert pending["waveform_url"] is None

    job = story._job_id()
    await ingest_events(story.transcode_started(job).transcode_completed(job, s3_bucket).events)
    document = {"version": 1, "duration": 20.0, "peaks": [0.1, 1.0, 0.5, 0.0]}
    store = ObjectStore(settings.storage)
    await store.put_bytes(
        s3_bucket, story.waveform_key(job), msgspec.json.encode(document), content_type="x/y"
    )
    ready = await detail(client, auth, story)
    assert ready["file"]["transcode_status"] == "ready"
    assert ready["mp4"] is None
    assert ready["hls_url"] is not None
    assert [(r["name"], r["width"], r["codecs"]) for r in ready["renditions"]] == [
        ("128k", 0, "mp4a.40.2"),
        ("64k", 0, "mp4a.40.2"),
    ]
    async with httpx.AsyncClient() as http:
        waveform = await http.get(ready["waveform_url"])
    assert waveform.status_code == 200
    assert waveform.headers["content-type"] == "application/json"
    assert waveform.json() == document


async def test_progress_reaches_the_owners_live_stream(
    settings: CatalogSettings, auth: Any, ingest_events: Any
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified()
    job = story._job_id()
    await ingest_events(story.transcode_started(job).events)
    changes: list[dict[str, Any]] = []
    async with (
        served(create_app(settings)) as http,
        http.stream("GET", "/v1/events", headers=auth("alice")) as stream,
    ):
        lines = stream.aiter_lines()

        async def read(wanted: int) -> None:
            event = None
            async for line in lines:
                if line.startswith(": connected"):
                    await ingest_events(story.transcode_progress(job, 35.0).events[-1:])
                elif line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "file.changed":
                    changes.append(msgspec.json.decode(line.split(":", 1)[1]))
                    if len(changes) == wanted:
                        return

        await asyncio.wait_for(read(1), 30)
    assert [(c["transcode_status"], c["transcode_progress"]) for c in changes] == [
        ("running", 35.0)
    ]
