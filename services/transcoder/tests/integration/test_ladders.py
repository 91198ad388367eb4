"""Real ffmpeg on generated clips, through the worker's consumer, Postgres and S3."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest

from mediaplane.bus import Bus
from mediaplane.bus.testing import eventually, settled
from mediaplane.contracts import FileVerified
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.adapters.playlists import parse_master_playlist, parse_media_playlist
from mediaplane.transcoder.app.bootstrap import Resources
from mediaplane.transcoder.domain.errors import JobBusy

pytestmark = pytest.mark.integration

Fetch = Callable[[str], Awaitable[bytes]]
MakeClip = Callable[..., Path]
Upload = Callable[[Path], Awaitable[FileVerified]]
ReadEvents = Callable[[uuid.UUID], list[Any]]
WaitFinal = Callable[[uuid.UUID], Awaitable[Any]]


@pytest.fixture
def fetch(resources: Resources) -> Fetch:
    """Read an object of the renditions bucket."""

    async def read(key: str) -> bytes:
        return b"".join(
            [c async for c in resources.objects.iter_object(resources.settings.bucket, key)]
        )

    return read


def ffprobe_streams(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    streams: list[dict[str, Any]] = json.loads(out)["streams"]
    return streams


async def check_ladder(
    completed: dict[str, Any], fetch: Fetch, tmp_path: Path, *, audio: bool
) -> list[list[dict[str, Any]]]:
    """What a player would need: the master parses with every attribute, each rendition's
    playlist parses, its segments are H.264 (+ AAC) at the announced size, and all
    renditions cut segments at the same instants. Returns each rendition's first segment
    streams, tallest first."""
    first_segments: list[list[dict[str, Any]]] = []
    master = parse_master_playlist((await fetch(completed["master_playlist_key"])).decode())
    renditions = completed["renditions"]
    assert [v.resolution for v in master] == [(r["width"], r["height"]) for r in renditions]
    boundaries = []
    for variant, rendition in zip(master, renditions, strict=True):
        assert variant.bandwidth == rendition["bandwidth"]
        assert variant.average_bandwidth == rendition["average_bandwidth"]
        assert 0 < rendition["average_bandwidth"] <= rendition["bandwidth"]
        codecs = rendition["codecs"]
        assert variant.codecs == codecs
        assert codecs.startswith("avc1.64")  # H.264 High profile
        assert ("mp4a.40.2" in codecs) is audio  # AAC-LC
        assert variant.frame_rate == pytest.approx(10.0)
        key = rendition["playlist_key"]
        assert key.endswith(f"{rendition['name']}/index.m3u8")
        playlist = parse_media_playlist((await fetch(key)).decode())
        assert len(playlist.segments) == rendition["segment_count"]
        assert playlist.duration == pytest.approx(completed["duration"], abs=1.0)
        times, total = [], 0.0
        for _, seconds in playlist.segments:
            total += seconds
            times.append(round(total, 1))
        boundaries.append(times)
        prefix = key.rsplit("/", 1)[0]
        segment = tmp_path / f"{rendition['name']}.ts"
        segment.write_bytes(await fetch(f"{prefix}/{playlist.segments[0][0]}"))
        streams = ffprobe_streams(segment)
        video = next(s for s in streams if s["codec_type"] == "video")
        assert (video["codec_name"], video["width"], video["height"]) == (
            "h264",
            rendition["width"],
            rendition["height"],
        )
        assert [s["codec_name"] for s in streams if s["codec_type"] == "audio"] == (
            ["aac"] if audio else []
        )
        first_segments.append(streams)
    assert all(b == boundaries[0] for b in boundaries), boundaries
    return first_segments


async def test_a_1080p_video_gets_four_aligned_renditions(
    worker: Bus,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
    fetch: Fetch,
    tmp_path: Path,
) -> None:
    verified = await upload(make_clip(width=1920, height=1080))
    await worker.publish(verified)

    final = await wait_final(verified.file_id)

    assert final.type == "transcode.completed.v1", final.data
    completed = final.data
    assert [(r["name"], r["width"], r["height"]) for r in completed["renditions"]] == [
        ("1080p", 1920, 1080),
        ("720p", 1280, 720),
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    # 2 s in 1 s segments: keyframes forced on every boundary in every rendition.
    assert {r["segment_count"] for r in completed["renditions"]} == {2}
    assert completed["duration"] == pytest.approx(2.0, abs=0.1)
    await check_ladder(completed, fetch, tmp_path, audio=True)
    started = transcode_events(verified.file_id)[0]
    assert started.type == "transcode.started.v1"
    assert started.data["ladder"] == ["1080p", "720p", "480p", "360p"]
    assert started.data["source"] == {
        "width": 1920,
        "height": 1080,
        "duration": pytest.approx(2.0, abs=0.1),
        "fps": 10.0,
        "video_codec": "h264",
        "audio_codec": "aac",
        "rotation": 0,
    }


async def test_a_480p_video_gets_480p_and_360p(
    worker: Bus,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    fetch: Fetch,
    tmp_path: Path,
) -> None:
    verified = await upload(make_clip(width=854, height=480))
    await worker.publish(verified)

    final = await wait_final(verified.file_id)

    assert final.type == "transcode.completed.v1", final.data
    assert [(r["name"], r["width"], r["height"]) for r in final.data["renditions"]] == [
        ("480p", 854, 480),
        ("360p", 640, 360),
    ]
    await check_ladder(final.data, fetch, tmp_path, audio=True)


async def test_a_rotated_phone_video_comes_out_portrait(
    worker: Bus,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
    fetch: Fetch,
    tmp_path: Path,
) -> None:
    # Stored landscape 1280x720, displayed portrait: the display matrix says 90 degrees.
    verified = await upload(make_clip(width=1280, height=720, rotate=90))
    await worker.publish(verified)

    final = await wait_final(verified.file_id)

    assert final.type == "transcode.completed.v1", final.data
    assert [(r["name"], r["width"], r["height"]) for r in final.data["renditions"]] == [
        ("720p", 720, 1280),
        ("480p", 480, 854),
        ("360p", 360, 640),
    ]
    source = transcode_events(verified.file_id)[0].data["source"]
    assert (source["width"], source["height"], source["rotation"]) == (720, 1280, 90)
    first_segments = await check_ladder(final.data, fetch, tmp_path, audio=True)
    for streams in first_segments:
        video = next(s for s in streams if s["codec_type"] == "video")
        # The pixels are turned, not flagged: no rotation left for players to apply.
        assert video["height"] > video["width"]
        assert not any("rotation" in d for d in video.get("side_data_list", []))


async def test_a_video_without_audio_gets_video_only_renditions(
    worker: Bus,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    fetch: Fetch,
    tmp_path: Path,
) -> None:
    verified = await upload(make_clip(width=640, height=360, audio=False))
    await worker.publish(verified)

    final = await wait_final(verified.file_id)

    assert final.type == "transcode.completed.v1", final.data
    assert [r["name"] for r in final.data["renditions"]] == ["360p"]
    await check_ladder(final.data, fetch, tmp_path, audio=False)


async def test_a_video_below_360p_gets_one_rendition_at_its_own_size(
    worker: Bus, make_clip: MakeClip, upload: Upload, wait_final: WaitFinal
) -> None:
    verified = await upload(make_clip(width=320, height=180))
    await worker.publish(verified)

    final = await wait_final(verified.file_id)

    assert final.type == "transcode.completed.v1", final.data
    assert [(r["name"], r["width"], r["height"]) for r in final.data["renditions"]] == [
        ("180p", 320, 180)
    ]


@pytest.mark.parametrize(
    "faststart",
    [
        # The MP4 index (moov) is at the end and cut off: nothing can open it.
        False,
        # The index is first: the file opens, ffmpeg decodes what is there and
        # complains; the output is too short to pass the duration check.
        True,
    ],
    ids=["index-lost", "index-first"],
)
async def test_a_truncated_file_fails_as_corrupt_input_without_retries(
    worker: Bus,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
    resources: Resources,
    faststart: bool,
) -> None:
    verified = await upload(make_clip(width=640, height=360, truncate_to=0.5, faststart=faststart))
    await worker.publish(verified)

    final = await wait_final(verified.file_id)

    assert final.type == "transcode.failed.v1"
    assert (final.data["code"], final.data["attempts"]) == ("corrupt_input", 1)
    assert final.data["detail"]
    # Nothing was published for it.
    stored = await resources.objects.list_objects(resources.settings.bucket, "")
    assert [o.key for o in stored if o.key.startswith(str(verified.file_id))] == []
    # Not retried: one delivery, acknowledged.
    info = await worker.js.consumer_info(resources.settings.bus.stream, "transcoder-file-verified")
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)


async def test_a_duplicate_event_starts_no_second_job(
    worker: Bus,
    make_clip: MakeClip,
    upload: Upload,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
    resources: Resources,
    originals: ObjectStore,
) -> None:
    verified = await upload(make_clip(width=640, height=360))
    # Same file and bytes, another event (e.g. the gateway re-verified the file):
    # a different event id, so JetStream's deduplication does not drop it.
    again = msgspec.structs.replace(verified, event_id=uuid.uuid4())
    await worker.publish(verified)
    await worker.publish(again)
    # And another replica handles both at the same time as the worker.
    outcomes = await asyncio.gather(
        resources.transcoder.handle(again, last_attempt=False),
        resources.transcoder.handle(verified, last_attempt=False),
        return_exceptions=True,
    )

    final = await wait_final(verified.file_id)
    # Every delivery handled and acked: nothing more will come.
    await eventually(lambda: settled(worker.js, resources.settings.bus, "transcoder-file-verified"))

    assert final.type == "transcode.completed.v1"
    for outcome in outcomes:
        assert outcome in ("completed", "skipped") or isinstance(outcome, JobBusy), outcome
    types = [e.type for e in transcode_events(verified.file_id)]
    assert types == ["transcode.started.v1", "transcode.completed.v1"]
    with psycopg.connect(resources.settings.database_url) as conn:
        jobs = conn.execute("SELECT status, attempts FROM transcode_jobs").fetchall()
    assert jobs == [("completed", 1)]


async def test_a_non_video_file_is_ignored(
    worker: Bus, make_clip: MakeClip, upload: Upload, resources: Resources
) -> None:
    verified = await upload(make_clip(width=320, height=180))
    image = msgspec.structs.replace(verified, kind="image")

    assert await resources.transcoder.handle(image, last_attempt=False) == "skipped"
    with psycopg.connect(resources.settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM transcode_jobs").fetchone() == (0,)
