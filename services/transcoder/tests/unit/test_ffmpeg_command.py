"""The ladder command line and how ffmpeg's complaints are read (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediaplane.servicekit.media import demuxer_for
from mediaplane.transcoder.adapters.chunked import TS_BASE, build_chunk_command, lead_in
from mediaplane.transcoder.adapters.ffmpeg import build_command, classify
from mediaplane.transcoder.config import EncodingSettings
from mediaplane.transcoder.domain.chunks import Chunk
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


def chunk_command(chunk: Chunk, fps: float = 30.0) -> list[str]:
    source = SourceMedia(
        width=1920, height=1080, duration=100.0, fps=fps, video_codec="h264", audio_codec="aac"
    )
    return build_chunk_command(
        "ffmpeg",
        demuxer_for("video/mp4"),
        Path("/w/source"),
        Path("/w/chunk"),
        source,
        plan_ladder(source, DEFAULT_LADDER),
        EncodingSettings(segment_seconds=4, preset="veryfast", max_fps=60),
        chunk,
        last=False,
        lead=lead_in(chunk, 1.0, fps),
    )


LATER = Chunk(index=1, start=32.0, end=64.0, first_segment=8, segments=8)


def test_a_later_chunk_starts_its_encode_a_preroll_early_as_one_segment_before_its_own() -> None:
    argv = chunk_command(LATER)
    assert (value(argv, "-ss"), value(argv, "-t")) == ("31.000000", "33.000000")
    # Keyframes at the chunk's own boundaries (1 s in, then every segment) and nowhere
    # else; the lead-in cut off as a segment numbered just before the chunk's first;
    # timestamps from the seek.
    assert value(argv, "-force_key_frames") == "expr:gte(t,0.999000+n_forced*4)"
    assert value(argv, "-x264-params") == "keyint=infinite"
    assert (value(argv, "-hls_init_time"), value(argv, "-hls_time")) == ("0.500000", "4")
    assert value(argv, "-start_number") == "7"
    assert value(argv, "-output_ts_offset") == f"{TS_BASE + 31.0:.6f}"


def test_the_lead_in_is_whole_frames_of_the_output() -> None:
    # 1 s at 29.97 fps is 29.97 frames: 30 of them, 1.001 s.
    assert lead_in(LATER, 1.0, 30000 / 1001) == pytest.approx(1.001)
    assert lead_in(LATER, 0.5, 15.0) == pytest.approx(8 / 15)
    assert value(chunk_command(LATER, fps=30000 / 1001), "-ss") == "30.999000"


def test_the_first_chunk_has_nothing_before_it_to_encode() -> None:
    first = Chunk(index=0, start=0.0, end=32.0, first_segment=0, segments=8)
    assert lead_in(first, 1.0, 30.0) == 0.0
    argv = chunk_command(first)
    assert (value(argv, "-ss"), value(argv, "-t")) == ("0.000000", "32.000000")
    assert value(argv, "-force_key_frames") == "expr:gte(t,0.000000+n_forced*4)"
    assert "-hls_init_time" not in argv
    assert "-x264-params" not in argv
    assert value(argv, "-start_number") == "0"
