"""The ladder command line and how ffmpeg's complaints are read (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaplane.servicekit.media import demuxer_for
from mediaplane.transcoder.adapters.ffmpeg import build_command, classify
from mediaplane.transcoder.config import EncodingSettings
from mediaplane.transcoder.domain.errors import CorruptInput, UnsupportedMedia
from mediaplane.transcoder.domain.ladder import DEFAULT_LADDER, SourceMedia, plan_ladder


def command(*, audio: bool = True, fps: float = 30.0) -> list[str]:
    source = SourceMedia(
        width=1920, height=1080, duration=20.0, fps=fps, video_codec="h264",
        audio_codec="aac" if audio else None,
    )  # fmt: skip
    return build_command(
        "ffmpeg",
        demuxer_for("video/mp4"),
        Path("/w/source"),
        Path("/w/hls"),
        source,
        plan_ladder(source, DEFAULT_LADDER),
        EncodingSettings(segment_seconds=4, preset="veryfast", max_fps=60),
    )


def value(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


def test_the_input_is_read_as_its_verified_container_from_local_files_only() -> None:
    argv = command()
    before_input = argv[: argv.index("-i")]
    assert value(before_input, "-f") == "mov"
    assert value(before_input, "-protocol_whitelist") == "file"


def test_one_decode_feeds_every_rung_through_split() -> None:
    argv = command()
    assert argv.count("-i") == 1
    graph = value(argv, "-filter_complex")
    assert graph.startswith("[0:v:0]format=yuv420p,split=4[s0][s1][s2][s3];")
    assert "[s3]scale=640:360:flags=bicubic,setsar=1[v3]" in graph


def test_keyframes_are_forced_on_every_segment_boundary() -> None:
    argv = command()
    assert value(argv, "-force_key_frames") == "expr:gte(t,n_forced*4)"
    assert value(argv, "-sc_threshold") == "0"
    assert value(argv, "-hls_time") == "4"


def test_h264_high_and_aac_with_per_rung_bitrates() -> None:
    argv = command()
    assert (value(argv, "-c:v"), value(argv, "-profile:v"), value(argv, "-preset")) == (
        "libx264",
        "high",
        "veryfast",
    )
    assert (value(argv, "-b:v:0"), value(argv, "-maxrate:v:0"), value(argv, "-bufsize:v:0")) == (
        "5000k",
        "5350k",
        "10000k",
    )
    assert (value(argv, "-c:a"), value(argv, "-b:a:3")) == ("aac", "64k")
    assert value(argv, "-var_stream_map") == (
        "v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:480p v:3,a:3,name:360p"
    )
    assert value(argv, "-hls_playlist_type") == "vod"
    assert argv[-1] == "/w/hls/%v/index.m3u8"


def test_without_audio_no_audio_is_mapped() -> None:
    argv = command(audio=False)
    assert "0:a:0" not in argv
    assert "-c:a" not in argv
    assert value(argv, "-var_stream_map") == (
        "v:0,name:1080p v:1,name:720p v:2,name:480p v:3,name:360p"
    )


def test_a_frame_rate_above_the_cap_is_reduced_before_the_split() -> None:
    assert value(command(fps=120), "-filter_complex").startswith("[0:v:0]fps=60.000000,format")


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("[mov @ 0x1] moov atom not found\nin.mp4: Invalid data found when processing input",
         CorruptInput),
        ("[mov @ 0x1] stream 1, offset 0x2cb02: partial file", CorruptInput),
        ("Error while decoding stream #0:0: Invalid data found when processing input",
         CorruptInput),
        ("Decoder (codec av2) not found for input stream #0:0", UnsupportedMedia),
        ("Conversion failed!\nsomething unrelated", None),
        ("", None),
    ],
)  # fmt: skip
def test_ffmpeg_messages_tell_damaged_input_from_other_failures(
    stderr: str, expected: type[Exception] | None
) -> None:
    found = classify(stderr)
    assert type(found) is expected if expected else found is None
