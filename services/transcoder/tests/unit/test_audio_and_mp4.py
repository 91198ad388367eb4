"""Audio ladder, waveform buckets, the MP4 fallback's size and box layout (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaplane.servicekit.media import demuxer_for
from mediaplane.transcoder.adapters.ffmpeg import MP4_NAME, build_audio_command, build_command
from mediaplane.transcoder.adapters.ffprobe import parse_audio_probe
from mediaplane.transcoder.config import EncodingSettings, SourceLimits
from mediaplane.transcoder.domain.audio import (
    bucket_bounds,
    normalize_peaks,
    parse_audio_ladder,
    plan_audio_ladder,
)
from mediaplane.transcoder.domain.errors import (
    ContainerNotAllowed,
    EmptyMedia,
    UnsupportedMedia,
)
from mediaplane.transcoder.domain.hls import Variant, render_master
from mediaplane.transcoder.domain.ladder import (
    DEFAULT_LADDER,
    RungSpec,
    SourceMedia,
    plan_ladder,
)
from mediaplane.transcoder.domain.mp4 import BoxError, is_faststart, plan_mp4, top_level_boxes

LIMITS = SourceLimits(max_duration=3600, max_dimension=4096)


def source(width: int, height: int) -> SourceMedia:
    return SourceMedia(
        width=width, height=height, duration=10.0, fps=30.0, video_codec="h264", audio_codec="aac"
    )


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1920, 1080), (1280, 720)),
        ((1080, 1920), (720, 1280)),  # portrait: 720p is 720 wide
        ((1280, 720), (1280, 720)),
        ((854, 480), (854, 480)),  # never above the source
        ((320, 180), (320, 180)),  # below every rung: its own size
    ],
)
def test_the_fallback_is_at_most_720p_and_never_above_the_source(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    media = source(*size)
    mp4 = plan_mp4(media, plan_ladder(media, DEFAULT_LADDER))
    assert (mp4.width, mp4.height) == expected


def test_a_ladder_without_a_rung_at_720p_or_below_scales_the_source_down() -> None:
    media = source(3840, 2160)
    mp4 = plan_mp4(
        media, plan_ladder(media, (RungSpec(height=1080, video_kbps=5000, audio_kbps=128),))
    )
    assert (mp4.width, mp4.height) == (1280, 720)


def box(kind: bytes, payload: int) -> bytes:
    return (8 + payload).to_bytes(4, "big") + kind + b"\0" * payload


def boxes(data: bytes) -> list[str]:
    return top_level_boxes(lambda offset, n: data[offset : offset + n], len(data))


def test_box_order_tells_faststart_from_moov_at_end() -> None:
    fast = box(b"ftyp", 16) + box(b"moov", 40) + box(b"mdat", 100)
    slow = box(b"ftyp", 16) + box(b"mdat", 100) + box(b"moov", 40)
    assert boxes(fast) == ["ftyp", "moov", "mdat"]
    assert is_faststart(boxes(fast))
    assert not is_faststart(boxes(slow))
    assert not is_faststart(["ftyp", "mdat"])


def test_64_bit_and_to_the_end_box_sizes() -> None:
    large = (1).to_bytes(4, "big") + b"mdat" + (16 + 10).to_bytes(8, "big") + b"\0" * 10
    to_end = (0).to_bytes(4, "big") + b"free" + b"\0" * 5
    assert boxes(box(b"moov", 4) + large + to_end) == ["moov", "mdat", "free"]


@pytest.mark.parametrize(
    "data",
    [b"\0\0\0\x10moov", (4).to_bytes(4, "big") + b"moov", box(b"moov", 4)[:-1] + b"", b"abc"],
)
def test_malformed_boxes_are_refused(data: bytes) -> None:
    with pytest.raises(BoxError):
        boxes(data)


def test_the_fallback_is_a_second_faststart_output_of_the_same_ffmpeg() -> None:
    media = source(1920, 1080)
    ladder = plan_ladder(media, DEFAULT_LADDER)
    argv = build_command(
        "ffmpeg", demuxer_for("video/mp4"), Path("/w/source"), Path("/w/hls"), media, ladder,
        EncodingSettings(), mp4=plan_mp4(media, ladder),
    )  # fmt: skip
    assert argv.count("-i") == 1
    graph = argv[argv.index("-filter_complex") + 1]
    assert "split=5" in graph
    assert graph.endswith("[s4]scale=1280:720:flags=bicubic,setsar=1[vmp4]")
    assert argv[-1] == f"/w/hls/{MP4_NAME}"
    tail = argv[argv.index("[vmp4]") :]
    assert tail[tail.index("-movflags") + 1] == "+faststart"
    assert argv[argv.index("-progress") + 1] == "pipe:1"


def test_the_audio_command_reads_one_decode_into_the_ladder_and_the_pcm() -> None:
    argv = build_audio_command(
        "ffmpeg", demuxer_for("audio/mpeg"), Path("/w/source"), Path("/w/hls"),
        plan_audio_ladder((128, 64)), 4.0, Path("/w/waveform.pcm"),
    )  # fmt: skip
    assert argv.count("-i") == 1
    assert argv[argv.index("-f") + 1] == "mp3"
    assert argv[argv.index("-var_stream_map") + 1] == "a:0,name:128k a:1,name:64k"
    assert (argv[argv.index("-b:a:0") + 1], argv[argv.index("-b:a:1") + 1]) == ("128k", "64k")
    assert argv[-5:] == ["-c:a", "pcm_s16le", "-f", "s16le", "/w/waveform.pcm"]


def test_audio_ladder_text() -> None:
    assert parse_audio_ladder("64,128") == (128, 64)
    assert [r.name for r in plan_audio_ladder((128, 64))] == ["128k", "64k"]
    for bad in ("", "128,128", "0,64"):
        with pytest.raises(ValueError, match="audio ladder"):
            parse_audio_ladder(bad)


def test_buckets_cover_every_sample_once() -> None:
    bounds = bucket_bounds(10, 3)
    assert bounds == [(0, 3), (3, 6), (6, 10)]
    assert bucket_bounds(2, 1000) == [(0, 1), (1, 2)]  # fewer buckets than asked
    assert bucket_bounds(0, 1000) == []


def test_peaks_are_normalized_to_the_loudest() -> None:
    assert normalize_peaks([100, 400, 200]) == [0.25, 1.0, 0.5]
    assert normalize_peaks([0, 0]) == [0.0, 0.0]  # silence stays flat


def audio_json(duration: str | None = "3.0", **stream: object) -> dict[str, object]:
    audio = {"codec_type": "audio", "codec_name": "mp3", "channels": 2, "sample_rate": "44100"}
    audio.update(stream)
    fmt: dict[str, object] = {"format_name": "mp3"}
    if duration is not None:
        fmt["duration"] = duration
    return {"streams": [audio], "format": fmt}


def test_an_audio_probe() -> None:
    media = parse_audio_probe(audio_json(), LIMITS, demuxer_for("audio/mpeg"))
    assert (media.duration, media.codec, media.channels, media.sample_rate) == (
        3.0,
        "mp3",
        2,
        44100,
    )


@pytest.mark.parametrize("duration", [None, "0.000000", "N/A"])
def test_zero_second_audio_is_empty_media(duration: str | None) -> None:
    with pytest.raises(EmptyMedia, match="0 s"):
        parse_audio_probe(audio_json(duration), LIMITS)


def test_audio_refusals() -> None:
    with pytest.raises(UnsupportedMedia, match="no audio stream"):
        parse_audio_probe({"streams": [], "format": {"duration": "1"}}, LIMITS)
    with pytest.raises(UnsupportedMedia, match="exceeds"):
        parse_audio_probe(audio_json("7200"), LIMITS)
    with pytest.raises(ContainerNotAllowed):
        parse_audio_probe(audio_json(), LIMITS, demuxer_for("audio/flac"))


def test_an_audio_master_has_no_resolution_or_frame_rate() -> None:
    variant = Variant(
        name="128k", uri="128k/index.m3u8", width=0, height=0, codecs="mp4a.40.2",
        frame_rate=0.0, bandwidth=140_000, average_bandwidth=130_000,
    )  # fmt: skip
    master = render_master([variant], version=3)
    assert (
        '#EXT-X-STREAM-INF:BANDWIDTH=140000,AVERAGE-BANDWIDTH=130000,CODECS="mp4a.40.2"' in master
    )
