"""HLS playback with file-scoped playback tokens: never the bearer token, never in a log line."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import FileStory
from mediaplane.devstack.pytest_plugin import served
from mediaplane.observability import configure_logging
from mediaplane.storage import ObjectStore

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Litestar]

MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-STREAM-INF:BANDWIDTH=3300000,RESOLUTION=1280x720
720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=950000,RESOLUTION=640x360
360p/index.m3u8
"""
MEDIA = """#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.0,
seg_000.m4s
#EXTINF:4.0,
seg_001.m4s
#EXT-X-ENDLIST
"""


async def transcoded_file(
    ingest_events: Any, settings: CatalogSettings, bucket: str, owner: str = "alice"
) -> FileStory:
    """A ready video whose master, 720p playlist and one segment are in `bucket`."""
    story = FileStory(owner=owner).opened().uploaded().verified().transcoded(bucket=bucket)
    await ingest_events(story.events)
    store = ObjectStore(settings.storage)
    base = f"{story.file_id}/hls"
    await store.put_bytes(bucket, f"{base}/master.m3u8", MASTER.encode(), content_type="text/plain")
    await store.put_bytes(
        bucket, f"{base}/720p/index.m3u8", MEDIA.encode(), content_type="text/plain"
    )
    await store.put_bytes(bucket, f"{base}/720p/seg_001.m4s", b"SEGMENT1", content_type="video/mp4")
    return story


def playback_token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["pt"][0]


async def test_playlists_and_segments_play_with_the_files_playback_token_only(
    client: Client,
    auth: Any,
    bearer: Any,
    clock: Any,
    ingest_events: Any,
    settings: CatalogSettings,
    s3_bucket: str,
) -> None:
    story = await transcoded_file(ingest_events, settings, s3_bucket)
    other = await transcoded_file(ingest_events, settings, s3_bucket)

    detail = (await client.get(f"/v1/files/{story.file_id}", headers=auth("alice"))).json()
    hls_url = detail["hls_url"]
    token = playback_token(hls_url)
    assert hls_url == f"/v1/files/{story.file_id}/hls/master.m3u8?pt={token}"
    assert [r["playlist_url"] for r in detail["renditions"]] == [
        f"/v1/files/{story.file_id}/hls/{name}.m3u8?pt={token}" for name in ("720p", "360p")
    ]
    assert detail["hls_expires_at"] is not None

    # The master needs no header; its rendition URLs carry the same token.
    master = await client.get(hls_url)
    assert master.status_code == 200, master.text
    assert master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert master.headers["cache-control"] == "private, no-store"
    assert master.text.splitlines()[3:6:2] == [f"720p.m3u8?pt={token}", f"360p.m3u8?pt={token}"]
    media = await client.get(f"/v1/files/{story.file_id}/hls/720p.m3u8", params={"pt": token})
    assert media.status_code == 200, media.text
    lines = media.text.splitlines()
    assert lines[2].startswith('#EXT-X-MAP:URI="http')
    segment_url = lines[6]
    assert "X-Amz-Signature" in segment_url
    async with httpx.AsyncClient() as http:
        assert (await http.get(segment_url)).content == b"SEGMENT1"
    missing = await client.get(f"/v1/files/{story.file_id}/hls/1080p.m3u8", params={"pt": token})
    assert (missing.status_code, missing.json()["code"]) == (404, "playback_not_found")

    def refused(response: httpx.Response, code: str = "playback_token_invalid") -> None:
        assert (response.status_code, response.json()["code"]) == (401, code), response.text

    master_path = f"/v1/files/{story.file_id}/hls/master.m3u8"
    jwt = bearer("alice")
    # The API's bearer token opens no playlist: not in the query, not in the header,
    # not passed off as a playback token.
    refused(await client.get(master_path, params={"access_token": jwt}))
    refused(await client.get(master_path, headers=auth("alice")))
    refused(await client.get(master_path, params={"pt": jwt}))
    refused(await client.get(master_path))
    # The playback token opens this file's playlists and nothing else.
    refused(await client.get(f"/v1/files/{other.file_id}/hls/master.m3u8", params={"pt": token}))
    refused(await client.get(f"/v1/files/{other.file_id}/hls/720p.m3u8", params={"pt": token}))
    for path in ("/v1/files", f"/v1/files/{story.file_id}", f"/v1/files/{story.file_id}/history"):
        as_query = await client.get(path, params={"pt": token})
        as_header = await client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert (as_query.status_code, as_header.status_code) == (401, 401), path
        assert as_header.json()["code"] == "unauthorized"
    # A token is good until it expires, then refused.
    clock.advance(timedelta(seconds=settings.playback_ttl_seconds - 5))
    assert (await client.get(hls_url)).status_code == 200
    clock.advance(timedelta(seconds=10))
    refused(await client.get(hls_url), "playback_token_expired")
    refused(
        await client.get(f"/v1/files/{story.file_id}/hls/720p.m3u8", params={"pt": token}),
        "playback_token_expired",
    )


async def test_a_token_issued_to_an_owner_stops_working_when_the_file_goes_away(
    client: Client, auth: Any, ingest_events: Any, settings: CatalogSettings, s3_bucket: str
) -> None:
    story = await transcoded_file(ingest_events, settings, s3_bucket)
    detail = (await client.get(f"/v1/files/{story.file_id}", headers=auth("alice"))).json()
    await ingest_events(story.deleted().events[-1:])

    gone = await client.get(detail["hls_url"])

    assert (gone.status_code, gone.json()["code"]) == (404, "playback_not_found")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The process's JSON log lines (structlog and stdlib, uvicorn's access log included)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    configure_logging("catalog-api", level="DEBUG", stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


async def test_no_token_of_a_playback_reaches_a_log_line(
    settings: CatalogSettings,
    auth: Any,
    bearer: Any,
    ingest_events: Any,
    s3_bucket: str,
    log_output: io.StringIO,
) -> None:
    story = await transcoded_file(ingest_events, settings, s3_bucket)
    jwt = bearer("alice")
    async with served(create_app(settings)) as http:
        detail = await http.get(
            f"/v1/files/{story.file_id}", headers={"Authorization": f"Bearer {jwt}"}
        )
        master = await http.get(detail.json()["hls_url"])
        media = await http.get(detail.json()["renditions"][0]["playlist_url"])
        playback = log_output.getvalue()
        # A client still sending the old `?access_token=` is refused, and logged masked.
        stale = await http.get(
            f"/v1/files/{story.file_id}/hls/master.m3u8", params={"access_token": jwt}
        )

    assert (detail.status_code, master.status_code, media.status_code) == (200, 200, 200)
    assert stale.status_code == 401
    token = playback_token(detail.json()["hls_url"])
    logs = log_output.getvalue()
    access = [
        line["event"]
        for line in map(json.loads, logs.splitlines())
        if line["logger"] == "uvicorn.access"
    ]
    # The playback was logged (uvicorn's access log), with the token masked.
    base = f"/v1/files/{story.file_id}/hls"
    assert any(f'"GET {base}/master.m3u8?pt=REDACTED HTTP/1.1" 200' in a for a in access)
    assert any(f'"GET {base}/720p.m3u8?pt=REDACTED HTTP/1.1" 200' in a for a in access)
    assert any(f'"GET {base}/master.m3u8?access_token=REDACTED HTTP/1.1" 401' in a for a in access)
    assert "access_token" not in playback
    for secret in (jwt, token, *token.split(".")[1:], *jwt.split(".")[1:]):
        assert secret not in logs


def test_the_api_refuses_to_start_without_a_playback_secret_of_its_own(
    settings: CatalogSettings,
) -> None:
    with pytest.raises(ValueError, match="MEDIAPLANE_CATALOG_PLAYBACK_SECRET"):
        create_app(replace(settings, playback_secret=None))
    with pytest.raises(ValueError, match="must differ from the JWT secret"):
        create_app(replace(settings, playback_secret=settings.auth.hs256_secret))


EVENT_MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-PLAYLIST-TYPE:EVENT
#EXTINF:4.0,
seg_00000.ts
"""


async def test_a_ladder_still_encoding_plays_its_growing_event_playlists_then_vod(
    client: Client, auth: Any, ingest_events: Any, settings: CatalogSettings, s3_bucket: str
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified()
    story.transcoded_in_chunks(steps=1, completed=False, bucket=s3_bucket)
    job_id = story.events[-1].job_id  # type: ignore[attr-defined]
    await ingest_events(story.events)
    store = ObjectStore(settings.storage)
    base = f"{story.file_id}/hls"

    async def put(key: str, text: str) -> None:
        await store.put_bytes(s3_bucket, f"{base}/{key}", text.encode(), content_type="text/plain")

    # The provisional master names the audio rendition in an attribute, the rungs on lines.
    audio = '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="audio_128k",URI="audio_128k/index.m3u8"\n'
    await put("master.m3u8", MASTER.replace("#EXT-X-VERSION:7\n", f"#EXT-X-VERSION:7\n{audio}"))
    await put("720p/index.m3u8", EVENT_MEDIA)
    await store.put_bytes(
        s3_bucket, f"{base}/720p/seg_00000.ts", b"CHUNK0", content_type="video/mp2t"
    )

    # No `transcode.completed` yet: the detail says how far the ladder is, and it plays.
    detail = (await client.get(f"/v1/files/{story.file_id}", headers=auth("alice"))).json()
    assert detail["file"]["transcode_status"] == "running"
    assert detail["live"] == {"ready": 10.0, "chunks_done": 1, "chunks_planned": 2, "ended": False}
    assert detail["renditions"] == []
    token = playback_token(detail["hls_url"])
    master = await client.get(detail["hls_url"])
    assert master.status_code == 200, master.text
    lines = master.text.splitlines()
    assert f'URI="audio_128k.m3u8?pt={token}"' in lines[2]
    assert lines[4:7:2] == [f"720p.m3u8?pt={token}", f"360p.m3u8?pt={token}"]
    playlist = f"/v1/files/{story.file_id}/hls/720p.m3u8"
    media = await client.get(playlist, params={"pt": token})
    assert media.status_code == 200, media.text
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in media.text
    assert "#EXT-X-ENDLIST" not in media.text
    segment_url = media.text.splitlines()[5]
    assert "X-Amz-Signature" in segment_url
    async with httpx.AsyncClient() as http:
        assert (await http.get(segment_url)).content == b"CHUNK0"
    # The playback token still opens nothing else; a rendition the step did not name is 404.
    refused = await client.get(playlist, params={"pt": "x"})
    assert (refused.status_code, refused.json()["code"]) == (401, "playback_token_invalid")
    missing = await client.get(f"/v1/files/{story.file_id}/hls/1080p.m3u8", params={"pt": token})
    assert (missing.status_code, missing.json()["code"]) == (404, "playback_not_found")

    # The playlist grows: every request reads what the transcoder last uploaded.
    await put("720p/index.m3u8", EVENT_MEDIA + "#EXTINF:4.0,\nseg_00001.ts\n")
    grown = await client.get(playlist, params={"pt": token})
    assert grown.text.count("#EXTINF") == 2

    # The last chunk lands (`ended`, VOD playlists), then `transcode.completed`: VOD.
    seen = len(story.events)
    story.segments_ready(job_id, 2, 2, bucket=s3_bucket)
    # A step changes no files row, yet it is announced: the file page reloads and plays.
    assert (await ingest_events(story.events[seen:])).changed_files == 1
    ended = (await client.get(f"/v1/files/{story.file_id}", headers=auth("alice"))).json()
    assert ended["live"]["ended"] is True
    await put("720p/index.m3u8", MEDIA)
    story.transcode_completed(job_id, s3_bucket)
    await ingest_events(story.events[-1:])
    done = (await client.get(f"/v1/files/{story.file_id}", headers=auth("alice"))).json()
    assert done["file"]["transcode_status"] == "ready"
    assert done["live"] is None
    assert [r["name"] for r in done["renditions"]] == ["720p", "360p"]
    vod = await client.get(playlist, params={"pt": playback_token(done["hls_url"])})
    assert vod.status_code == 200, vod.text
    assert "#EXT-X-ENDLIST" in vod.text


async def test_a_failed_chunked_job_plays_nothing_and_a_retry_does_not_play_the_old_job(
    client: Client, auth: Any, ingest_events: Any, s3_bucket: str
) -> None:
    story = FileStory(owner="alice").opened().uploaded().verified()
    story.transcoded_in_chunks(steps=1, completed=False, bucket=s3_bucket)
    job_id = story.events[-1].job_id  # type: ignore[attr-defined]
    story.transcode_failure(job_id)
    await ingest_events(story.events)
    path = f"/v1/files/{story.file_id}"
    failed = (await client.get(path, headers=auth("alice"))).json()
    assert (failed["hls_url"], failed["live"]) == (None, None)

    # A new job starts: the old job's step is not the new job's ladder.
    story.transcode_started(uuid.uuid4())
    await ingest_events(story.events[-1:])
    retried = (await client.get(path, headers=auth("alice"))).json()
    assert retried["file"]["transcode_status"] == "running"
    assert (retried["hls_url"], retried["live"]) == (None, None)
