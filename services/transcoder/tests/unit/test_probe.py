"""Judging ffprobe's JSON: displayed size, rotation, frame rate, permanent refusals (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from mediaplane.servicekit.media import demuxer_for
from mediaplane.transcoder.adapters.ffprobe import parse_probe
from mediaplane.transcoder.config import SourceLimits
from mediaplane.transcoder.domain.errors import ContainerNotAllowed, CorruptInput, UnsupportedMedia

LIMITS = SourceLimits(max_duration=3600, max_dimension=4096)


def probe_json(**video: Any) -> dict[str, Any]:
    stream = {
        "codec_type": "video",
        "codec_name": "h264",
        "width": 1920,
        "height": 1080,
        "avg_frame_rate": "30000/1001",
        "r_frame_rate": "30000/1001",
        "sample_aspect_ratio": "1:1",
    }
    stream.update(video)
    audio = {"codec_type": "audio", "codec_name": "aac"}
    return {"streams": [stream, audio], "format": {"duration": "12.5"}}


def test_a_plain_video() -> None:
    media = parse_probe(probe_json(), LIMITS)
    assert (media.width, media.height, media.duration) == (1920, 1080, 12.5)
    assert media.fps == pytest.approx(29.97, abs=0.01)
    assert (media.video_codec, media.audio_codec, media.rotation) == ("h264", "aac", 0)


@pytest.mark.parametrize("rotation", [90, -90, 270])
def test_a_quarter_turn_swaps_the_displayed_size(rotation: int) -> None:
    media = parse_probe(probe_json(side_data_list=[{"rotation": rotation}]), LIMITS)
    assert (media.width, media.height) == (1080, 1920)
    assert media.rotation in (90, 270)


def test_an_old_rotate_tag_counts_too() -> None:
    media = parse_probe(probe_json(tags={"rotate": "180"}), LIMITS)
    assert (media.width, media.height, media.rotation) == (1920, 1080, 180)


def test_anamorphic_pixels_are_stretched_to_their_display_width() -> None:
    media = parse_probe(probe_json(width=1440, sample_aspect_ratio="4:3"), LIMITS)
    assert (media.width, media.height) == (1920, 1080)


def test_the_stream_duration_stands_in_for_a_missing_container_duration() -> None:
    data = probe_json(duration="3.0")
    data["format"] = {}
    assert parse_probe(data, LIMITS).duration == 3.0


def test_a_video_without_audio() -> None:
    data = probe_json()
    data["streams"] = data["streams"][:1]
    assert parse_probe(data, LIMITS).audio_codec is None


def test_the_frame_rate_falls_back_to_the_stream_rate() -> None:
    assert parse_probe(probe_json(avg_frame_rate="0/0", r_frame_rate="25/1"), LIMITS).fps == 25


@pytest.mark.parametrize(
    ("data", "error", "why"),
    [
        ({"streams": [{"codec_type": "audio", "codec_name": "mp3"}]}, UnsupportedMedia, "no video"),
        (
            # Cover art of a music file is not a video.
            {"streams": [{"codec_type": "video", "codec_name": "mjpeg",
                          "disposition": {"attached_pic": 1}}]},
            UnsupportedMedia,
            "no video",
        ),
        (probe_json(codec_name=None), UnsupportedMedia, "codec"),
        (probe_json(width=0), CorruptInput, "picture size"),
        ({**probe_json(), "format": {"duration": "N/A"}}, CorruptInput, "duration"),
        (probe_json(avg_frame_rate="0/0", r_frame_rate="0/0"), UnsupportedMedia, "frame rate"),
        (probe_json(width=8192, height=4320), UnsupportedMedia, "exceeds 4096"),
        ({**probe_json(), "format": {"duration": "7200"}}, UnsupportedMedia, "exceeds 3600"),
    ],
)  # fmt: skip
def test_inputs_that_cannot_be_transcoded_are_refused_for_good(
    data: dict[str, Any], error: type[Exception], why: str
) -> None:
    with pytest.raises(error, match=why):
        parse_probe(data, LIMITS)


@pytest.mark.parametrize(
    ("format_name", "why"),
    [
        ("hls", "hls: a playlist or script"),
        ("concat", "concat: a playlist or script"),
        ("image2", "image2: a playlist or script"),
        ("matroska,webm", "not mov"),
    ],
)
def test_a_source_read_as_anything_but_its_verified_container_is_refused(
    format_name: str, why: str
) -> None:
    data = {**probe_json(), "format": {"duration": "12.5", "format_name": format_name}}
    with pytest.raises(ContainerNotAllowed, match=why):
        parse_probe(data, LIMITS, demuxer_for("video/mp4"))


def test_the_verified_container_passes() -> None:
    data = {
        **probe_json(),
        "format": {"duration": "12.5", "format_name": "mov,mp4,m4a,3gp,3g2,mj2"},
    }
    assert parse_probe(data, LIMITS, demuxer_for("video/quicktime")).duration == 12.5
