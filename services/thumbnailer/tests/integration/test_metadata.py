"""The metadata extractor from `file.verified.v1` to `metadata.*` in the log, against real
Postgres and SeaweedFS and the real tools: every kind, GPS privacy, refusals, duplicates."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.app.bootstrap import Resources
from mediaplane.thumbnailer.app.metadata import MetadataExtractor

pytestmark = pytest.mark.integration

Verified = Callable[..., Any]
Rows = Callable[..., list[dict[str, Any]]]


def recorded(rows: Rows, file_id: object) -> list[dict[str, Any]]:
    return rows(
        "SELECT type, data FROM event_log WHERE stream_id = %s ORDER BY version",
        f"metadata-{file_id}",
    )


def mp3(path: Path) -> bytes:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "sine=d=1.5:r=44100",
         "-ac", "2", "-y", str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


@pytest.mark.parametrize("keep_location", [False, True])
async def test_a_camera_jpeg_gives_exif_and_gps_only_when_opted_in(
    resources: Resources, verified: Verified, rows: Rows, keep_location: bool
) -> None:
    event = await verified(testing.exif_jpeg(400, 300), "image/jpeg", "image")
    event = msgspec.structs.replace(event, keep_location=keep_location)
    extractor = MetadataExtractor(resources.service)
    assert await extractor.process(event) == "extracted"
    [record] = recorded(rows, event.file_id)
    assert record["type"] == "metadata.extracted.v1"
    image = record["data"]["image"]
    assert (image["width"], image["height"], image["orientation"]) == (300, 400, 6)
    assert (image["camera_make"], image["camera_model"]) == ("Canon", "Canon EOS R5")
    assert image["lens"] == "RF24-105mm F4 L IS USM"
    assert image["taken_at"] == "2024-07-14T16:30:05Z"
    if keep_location:
        assert image["location"] == {"latitude": 48.8582222, "longitude": 2.2945, "altitude": 35.0}
    else:
        assert image["location"] is None
        assert "48.85" not in str(record["data"])
    # A redelivery records nothing new.
    assert await extractor.process(event) == "duplicate"
    assert len(recorded(rows, event.file_id)) == 1


async def test_video_audio_and_pdf(
    resources: Resources, verified: Verified, rows: Rows, tmp_path: Path
) -> None:
    extractor = MetadataExtractor(resources.service)
    clip = testing.video(tmp_path / "v.mp4", seconds=2.0, size="320x240").read_bytes()
    inputs = {
        "video": (clip, "video/mp4", "video"),
        "audio": (mp3(tmp_path / "a.mp3"), "audio/mpeg", "audio"),
        "pdf": (testing.pdf(pages=3), "application/pdf", "pdf"),
    }
    found = {}
    for name, (data, media_type, kind) in inputs.items():
        event = await verified(data, media_type, kind)
        assert await extractor.process(event) == "extracted", name
        [record] = recorded(rows, event.file_id)
        found[name] = record["data"][name]
    video = found["video"]
    assert (video["width"], video["height"], video["video_codec"]) == (320, 240, "h264")
    assert (video["fps"], video["rotation"], video["hdr"]) == (25.0, 0, None)
    assert video["duration"] == pytest.approx(2.0, abs=0.1)
    audio = found["audio"]
    assert (audio["codec"], audio["channels"], audio["sample_rate"]) == ("mp3", 2, 44_100)
    assert audio["duration"] == pytest.approx(1.5, abs=0.1)
    assert found["pdf"]["page_count"] == 3


async def test_unreadable_files_are_recorded_as_failed_and_others_ignored(
    resources: Resources, verified: Verified, rows: Rows
) -> None:
    extractor = MetadataExtractor(resources.service)
    garbage = await verified(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, "video/mp4", "video")
    assert await extractor.process(garbage) == "failed"
    [record] = recorded(rows, garbage.file_id)
    assert record["type"] == "metadata.failed.v1"
    assert record["data"]["code"] == "corrupt_input"
    playlist = await verified(b"#EXTM3U\n#EXTINF:1,\n/etc/passwd\n", "audio/mpeg", "audio")
    assert await extractor.process(playlist) == "failed"
    assert recorded(rows, playlist.file_id)[0]["data"]["code"] == "container_refused"
    other = await verified(b"hello", "text/plain", "other")
    assert await extractor.process(other) == "ignored"
    assert recorded(rows, other.file_id) == []
