"""The ladder encode: ONE ffmpeg process decodes the source once and feeds every rung.

`split` fans the decoded (autorotated, 8-bit 4:2:0) frames out to one scaler
per rung; the HLS muxer writes one VOD playlist per rung and a master. The
progressive MP4 fallback is one more branch of the same split, written as a
second output of the same process (faststart: `moov` first). Audio files get
an audio-only ladder and, as a second output, mono PCM for the waveform.
ffmpeg reports its position on stdout (`-progress pipe:1`).
Keyframes are forced at every segment boundary (`n * segment_seconds`) in
every rung and scene-cut keyframes are off, so all renditions cut segments at
the same instants and GOPs have the same length: players can switch rungs at
any segment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from mediaplane.servicekit import children, media
from mediaplane.transcoder.adapters.ffprobe import tool_failure
from mediaplane.transcoder.config import EncodingSettings
from mediaplane.transcoder.domain.audio import PEAK_SAMPLE_RATE, AudioRendition
from mediaplane.transcoder.domain.errors import CorruptInput, UnsupportedMedia
from mediaplane.transcoder.domain.ladder import PlannedRendition, SourceMedia, output_fps

MASTER_NAME = "master.m3u8"
PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
MP4_NAME = "fallback.mp4"
_HEAD = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y", "-progress", "pipe:1"]

# ffmpeg says these when the *input* is damaged (truncated, garbled packets).
_CORRUPTION = re.compile(
    r"Invalid data found when processing input|partial file|corrupt input packet"
    r"|[Ee]rror while decoding|moov atom not found|Invalid NAL unit|Packet corrupt"
    r"|concealing \d+ DC"
)
# ...and these when it cannot decode an intact one.
_UNSUPPORTED = re.compile(
    r"Decoder \(codec [^)]*\) not found|Unsupported codec with id|Could not find codec parameters"
)


def filter_graph(
    source: SourceMedia,
    renditions: Sequence[PlannedRendition],
    fps: float,
    mp4: PlannedRendition | None = None,
) -> str:
    """Decode once, convert once, then one scaler per rung (and `[vmp4]` for the fallback)."""
    outputs = [*renditions, *([mp4] if mp4 is not None else [])]
    head = "[0:v:0]"
    if fps < source.fps:
        head += f"fps={fps:.6f},"
    head += f"format=yuv420p,split={len(outputs)}"
    head += "".join(f"[s{i}]" for i in range(len(outputs)))
    scalers = [
        f"[s{i}]scale={r.width}:{r.height}:flags=bicubic,setsar=1[v{i}]"
        for i, r in enumerate(renditions)
    ]
    if mp4 is not None:
        i = len(renditions)
        scalers.append(f"[s{i}]scale={mp4.width}:{mp4.height}:flags=bicubic,setsar=1[vmp4]")
    return ";".join([head, *scalers])


def build_command(
    ffmpeg: str,
    demuxer: media.Demuxer,
    source_path: Path,
    out_dir: Path,
    source: SourceMedia,
    renditions: Sequence[PlannedRendition],
    encoding: EncodingSettings,
    mp4: PlannedRendition | None = None,
) -> list[str]:
    """The whole ladder as one ffmpeg command line; the input is read as `demuxer`, local only.

    With `mp4`, the same process also writes the progressive fallback at that
    size to `out_dir / MP4_NAME`.
    """
    seg = encoding.segment_seconds
    fps = output_fps(source, encoding.max_fps)
    argv = [ffmpeg, *_HEAD]
    argv += [*media.input_options(demuxer), "-i", str(source_path)]
    argv += ["-filter_complex", filter_graph(source, renditions, fps, mp4)]
    for i in range(len(renditions)):
        argv += ["-map", f"[v{i}]"]
        if source.has_audio:
            argv += ["-map", "0:a:0"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1"]
    argv += [
        "-c:v", "libx264", "-preset", encoding.preset, "-profile:v", "high",
        "-sc_threshold", "0", "-force_key_frames", f"expr:gte(t,n_forced*{seg:g})",
    ]  # fmt: skip
    for i, r in enumerate(renditions):
        argv += [
            f"-b:v:{i}", f"{r.video_kbps}k",
            f"-maxrate:v:{i}", f"{r.maxrate_kbps}k",
            f"-bufsize:v:{i}", f"{r.bufsize_kbps}k",
        ]  # fmt: skip
    if source.has_audio:
        argv += ["-c:a", "aac", "-ac", "2"]
        for i, r in enumerate(renditions):
            argv += [f"-b:a:{i}", f"{r.audio_kbps}k"]
    streams = " ".join(
        f"v:{i},a:{i},name:{r.name}" if source.has_audio else f"v:{i},name:{r.name}"
        for i, r in enumerate(renditions)
    )
    argv += [
        "-f", "hls", "-hls_time", f"{seg:g}", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / "%v" / SEGMENT_PATTERN),
        "-master_pl_name", MASTER_NAME, "-var_stream_map", streams,
        str(out_dir / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    if mp4 is not None:
        argv += ["-map", "[vmp4]", *(["-map", "0:a:0"] if source.has_audio else [])]
        argv += ["-map_metadata", "-1", "-map_chapters", "-1"]
        argv += [
            "-c:v", "libx264", "-preset", encoding.preset, "-profile:v", "high",
            "-b:v", f"{mp4.video_kbps}k", "-maxrate:v", f"{mp4.maxrate_kbps}k",
            "-bufsize:v", f"{mp4.bufsize_kbps}k",
        ]  # fmt: skip
        if source.has_audio:
            argv += ["-c:a", "aac", "-ac", "2", "-b:a", f"{mp4.audio_kbps}k"]
        argv += ["-movflags", "+faststart", "-f", "mp4", str(out_dir / MP4_NAME)]
    return argv


def build_audio_command(
    ffmpeg: str,
    demuxer: media.Demuxer,
    source_path: Path,
    out_dir: Path,
    renditions: Sequence[AudioRendition],
    segment_seconds: float,
    pcm_path: Path,
) -> list[str]:
    """The audio-only ladder (stereo AAC per rendition, HLS) and, from the same decode, mono
    16-bit PCM at `PEAK_SAMPLE_RATE` into `pcm_path` for the waveform."""
    argv = [ffmpeg, *_HEAD]
    argv += [*media.input_options(demuxer), "-i", str(source_path)]
    for _ in renditions:
        argv += ["-map", "0:a:0"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-c:a", "aac", "-ac", "2"]
    for i, r in enumerate(renditions):
        argv += [f"-b:a:{i}", f"{r.kbps}k"]
    streams = " ".join(f"a:{i},name:{r.name}" for i, r in enumerate(renditions))
    argv += [
        "-f", "hls", "-hls_time", f"{segment_seconds:g}", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / "%v" / SEGMENT_PATTERN),
        "-master_pl_name", MASTER_NAME, "-var_stream_map", streams,
        str(out_dir / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    argv += [
        "-map", "0:a:0", "-map_metadata", "-1", "-ac", "1", "-ar", str(PEAK_SAMPLE_RATE),
        "-c:a", "pcm_s16le", "-f", "s16le", str(pcm_path),
    ]  # fmt: skip
    return argv


class ProgressReader:
    """Reads ffmpeg's `-progress` key=value stream in chunks; calls `on_position` with the
    seconds of output written at the end of every report block."""

    def __init__(self, on_position: Callable[[float], None]) -> None:
        self._on_position = on_position
        self._pending = b""
        self._position: float | None = None

    def feed(self, chunk: bytes) -> None:
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            key, _, value = line.decode("ascii", errors="replace").strip().partition("=")
            if key == "out_time_us":
                self._position = parse_out_time_us(value)
            elif key == "progress" and self._position is not None:
                self._on_position(self._position)


def parse_out_time_us(value: str) -> float | None:
    """`out_time_us=1234567` -> 1.234567 s; None for `N/A` or a negative start."""
    try:
        micros = int(value)
    except ValueError:
        return None
    return micros / 1_000_000 if micros >= 0 else None


class EncodeFailed(Exception):
    """ffmpeg failed for a reason that is not the input's (retried)."""


def classify(stderr: str) -> CorruptInput | UnsupportedMedia | None:
    """The permanent failure ffmpeg's messages point at, if any."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    if (match := next((ln for ln in lines if _UNSUPPORTED.search(ln)), None)) is not None:
        return UnsupportedMedia(match.strip())
    if (match := next((ln for ln in lines if _CORRUPTION.search(ln)), None)) is not None:
        return CorruptInput(match.strip())
    return None


async def encode(
    argv: Sequence[str],
    limits: children.Limits,
    on_position: Callable[[float], None] | None = None,
) -> str:
    """Run the ladder; returns ffmpeg's error output (empty on a clean run).

    ffmpeg often exits 0 on a truncated input after logging decode errors, so
    the caller checks the output and uses `classify(stderr)` to tell damaged
    input from a bug. A non-zero exit is classified here. Cancelling the
    caller (shutdown, lost lease) or a limit (`timeout`, `resource_limit`) kills ffmpeg.
    `on_position` gets the seconds encoded so far, several times a second.
    """
    reader = ProgressReader(on_position) if on_position is not None else None
    try:
        completed = await children.run(
            argv,
            limits=limits,
            stdout_limit=64 * 1024,
            on_stdout=reader.feed if reader is not None else None,
        )
    except children.LimitExceeded as exceeded:
        raise tool_failure(exceeded, "ffmpeg") from None
    if completed.returncode != 0:
        if (permanent := classify(completed.stderr)) is not None:
            raise permanent
        tail = " | ".join(completed.stderr.strip().splitlines()[-5:])
        raise EncodeFailed(f"ffmpeg exited with {completed.returncode}: {tail}")
    return completed.stderr
