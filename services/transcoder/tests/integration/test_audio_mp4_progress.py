"""Audio ladders and waveforms, the MP4 fallback and live progress: real ffmpeg, Postgres,
JetStream and SeaweedFS (through the worker's consumer)."""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from mediaplane.bus import Bus
from mediaplane.contracts import EventContext, FileKind, FileVerified, new_event, utc_now
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.adapters.playlists import parse_master_playlist, parse_media_playlist
from mediaplane.transcoder.app.bootstrap import Resources, apply_migrations, open_resources
from mediaplane.transcoder.config import TranscoderSettings
from mediaplane.transcoder.domain.mp4 import is_faststart, top_level_boxes
from mediaplane.transcoder.domain.progress import ProgressThrottle
from mediaplane.transcoder.worker.consumer import register_transcoder

pytestmark = pytest.mark.integration

MakeClip = Callable[..., Path]
ReadEvents = Callable[[uuid.UUID], list[Any]]
WaitFinal = Callable[[uuid.UUID], Awaitable[Any]]
Put = Callable[..., Awaitable[FileVerified]]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def make_audio(directory: Path, name: str, *codec: str, seconds: float = 3.0) -> Path:
    """A tone that swells: its waveform is not flat. `codec` options pick the format."""
    path = directory / name
    source = f"sine=frequency=330:duration={seconds},volume='0.1+0.9*t/{seconds}':eval=frame"
    _ffmpeg("-f", "lavfi", "-i", source, *codec, str(path))
    return path


@pytest.fixture
def put(originals: ObjectStore, s3_bucket: str) -> Put:
    """Store a file as an original; returns the `file.verified` the gateway would publish."""

    async def store(
        path: Path, media_type: str, kind: FileKind, owner: str = "alice"
    ) -> FileVerified:
        data = read_bytes(path)
        file_id = uuid.uuid4()
        key = f"{owner}/{file_id}"
        await originals.upload_file(s3_bucket, key, path, content_type=media_type)
        return new_event(
            FileVerified,
            occurred_at=utc_now(),
            stream_id=f"file-{file_id}",
            context=EventContext(producer="upload-gateway", correlation_id=str(uuid.uuid4())),
            file_id=file_id,
            owner=owner,
            bucket=s3_bucket,
            object_key=key,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            media_type=media_type,
            kind=kind,
        )

    return store


async def fetch(resources: Resources, key: str) -> bytes:
    bucket = resources.settings.bucket
    return b"".join([c async for c in resources.objects.iter_object(bucket, key)])


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def probe_streams(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
         "-of", "json", str(path)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    streams: list[dict[str, Any]] = msgspec.json.decode(out)["streams"]
    return streams


def boxes_of(data: bytes) -> list[str]:
    return top_level_boxes(lambda offset, n: data[offset : offset + n], len(data))


AUDIO_FORMATS = [
    ("tone.mp3", ("-c:a", "libmp3lame"), "audio/mpeg"),
    ("tone.m4a", ("-c:a", "aac"), "audio/mp4"),
    ("tone.ogg", ("-c:a", "libopus"), "audio/ogg"),
    ("tone.flac", ("-c:a", "flac"), "audio/flac"),
    ("tone.wav", ("-c:a", "pcm_s16le"), "audio/wave"),
]


@pytest.mark.parametrize(("name", "codec", "media_type"), AUDIO_FORMATS)
async def test_audio_gets_an_aac_ladder_and_a_waveform(
    worker: Bus,
    resources: Resources,
    put: Put,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
    tmp_path: Path,
    name: str,
    codec: tuple[str, ...],
    media_type: str,
) -> None:
    event = await put(make_audio(tmp_path, name, *codec), media_type, "audio")
    await worker.publish(event)
    final = await wait_final(event.file_id)
    assert final.type == "transcode.completed.v1", final.data
    completed = final.data
    assert completed["kind"] == "audio"
    assert completed["mp4"] is None
    started = transcode_events(event.file_id)[0]
    assert started.data["kind"] == "audio"
    assert started.data["source"]["video_codec"] == "none"

    # Two AAC renditions, highest first, announced without a picture size.
    renditions = completed["renditions"]
    assert [r["name"] for r in renditions] == ["128k", "64k"]
    master_text = (await fetch(resources, completed["master_playlist_key"])).decode()
    assert "RESOLUTION" not in master_text
    assert "FRAME-RATE" not in master_text
    master = parse_master_playlist(master_text)
    assert [v.codecs for v in master] == ["mp4a.40.2", "mp4a.40.2"]
    assert master[0].average_bandwidth > master[1].average_bandwidth  # type: ignore[operator]
    for rendition in renditions:
        assert (rendition["width"], rendition["height"], rendition["frame_rate"]) == (0, 0, 0)
        playlist = parse_media_playlist(
            (await fetch(resources, rendition["playlist_key"])).decode()
        )
        assert playlist.duration == pytest.approx(3.0, abs=0.3)

    # The waveform: normalized peaks that swell like the tone.
    waveform = completed["waveform"]
    document = msgspec.json.decode(await fetch(resources, waveform["key"]))
    peaks = document["peaks"]
    assert document["version"] == 1
    assert document["duration"] == pytest.approx(3.0, abs=0.1)
    assert len(peaks) == waveform["peaks"] == 1000
    assert max(peaks) == 1.0
    assert min(peaks) >= 0
    assert sum(peaks[:100]) < sum(peaks[-100:]) / 3


async def test_text_disguised_as_audio_fails_as_corrupt_input(
    worker: Bus, put: Put, wait_final: WaitFinal, tmp_path: Path
) -> None:
    text = tmp_path / "song.mp3"
    text.write_text("these are not the samples you are looking for\n" * 200)
    event = await put(text, "audio/mpeg", "audio")
    await worker.publish(event)
    final = await wait_final(event.file_id)
    assert final.type == "transcode.failed.v1"
    assert final.data["code"] == "corrupt_input", final.data


async def test_zero_second_audio_fails_as_empty_media(
    worker: Bus, put: Put, wait_final: WaitFinal, tmp_path: Path
) -> None:
    silent = tmp_path / "nothing.wav"
    _ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "0", str(silent))
    assert silent.stat().st_size > 0  # a WAV header, no samples
    event = await put(silent, "audio/wave", "audio")
    await worker.publish(event)
    final = await wait_final(event.file_id)
    assert final.type == "transcode.failed.v1"
    assert final.data["code"] == "empty_media", final.data
    assert "0 s" in final.data["detail"]


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1920, 1080), (1280, 720)), ((480, 270), (480, 270))],
    ids=["1080p-source-capped-at-720p", "small-source-kept-at-its-size"],
)
async def test_the_mp4_fallback_is_faststart_from_a_moov_at_end_source_and_range_seekable(
    worker: Bus,
    resources: Resources,
    put: Put,
    make_clip: MakeClip,
    wait_final: WaitFinal,
    tmp_path: Path,
    size: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    clip = make_clip(width=size[0], height=size[1], seconds=2.0)
    source_boxes = boxes_of(read_bytes(clip))
    assert source_boxes.index("mdat") < source_boxes.index("moov")  # the index at the end
    event = await put(clip, "video/mp4", "video")
    await worker.publish(event)
    final = await wait_final(event.file_id)
    assert final.type == "transcode.completed.v1", final.data
    mp4 = final.data["mp4"]
    assert (mp4["width"], mp4["height"]) == expected
    data = await fetch(resources, mp4["key"])
    assert len(data) == mp4["size"]
    boxes = boxes_of(data)
    assert is_faststart(boxes), boxes
    assert boxes.index("moov") < boxes.index("mdat")

    local = tmp_path / "fallback.mp4"
    local.write_bytes(data)
    streams = probe_streams(local)
    assert [s["codec_name"] for s in streams] == ["h264", "aac"]
    assert (streams[0]["width"], streams[0]["height"]) == expected

    # Seekable: a Range request through the real SeaweedFS presigned URL.
    presigned = resources.objects.presign_get(
        resources.settings.bucket, mp4["key"], expires=timedelta(minutes=5)
    )
    async with httpx.AsyncClient() as client:
        response = await client.get(presigned.url, headers={"Range": "bytes=1000-1999"})
        tail = await client.get(presigned.url, headers={"Range": "bytes=-16"})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert response.content == data[1000:2000]
    assert tail.status_code == 206
    assert tail.content == data[-16:]


async def test_progress_is_reported_throttled_between_start_and_completion(
    make_settings: Callable[..., TranscoderSettings],
    put: Put,
    make_clip: MakeClip,
    wait_final: WaitFinal,
    transcode_events: ReadEvents,
) -> None:
    # No interval: every 25 % step is reported, so even a short clip reports.
    settings = make_settings(progress=ProgressThrottle(step=25.0, min_interval=0.0))
    await apply_migrations(settings)
    async with open_resources(settings) as resources:
        bus = Bus(settings.bus, resources.registry, producer="transcoder")
        register_transcoder(bus, resources.transcoder, settings)
        async with bus.running():
            clip = make_clip(width=640, height=360, seconds=8.0, fps=10)
            event = await put(clip, "video/mp4", "video")
            await bus.publish(event)
            final = await wait_final(event.file_id)
    assert final.type == "transcode.completed.v1", final.data
    types = [e.type for e in transcode_events(event.file_id)]
    progress = [
        e.data for e in transcode_events(event.file_id) if e.type.startswith("transcode.progress")
    ]
    assert types[0] == "transcode.started.v1"
    assert types[-1] == "transcode.completed.v1"
    assert 1 <= len(progress) <= ProgressThrottle(step=25.0).max_reports() == 4
    percents = [p["percent"] for p in progress]
    assert all(0 < p < 100 for p in percents)
    assert all(b - a >= 25 for a, b in zip([0.0, *percents], percents, strict=False))
    assert all(p["processed"] == pytest.approx(p["percent"] / 100 * 8.0, abs=0.2) for p in progress)
    assert {p["job_id"] for p in progress} == {final.data["job_id"]}


async def test_default_throttle_keeps_a_short_job_silent(
    worker: Bus, put: Put, make_clip: MakeClip, wait_final: WaitFinal, transcode_events: ReadEvents
) -> None:
    """The default needs 3 s between reports: a job shorter than that reports nothing."""
    event = await put(make_clip(width=320, height=180, seconds=1.0), "video/mp4", "video")
    await worker.publish(event)
    await wait_final(event.file_id)
    types = [e.type for e in transcode_events(event.file_id)]
    assert types == ["transcode.started.v1", "transcode.completed.v1"]
