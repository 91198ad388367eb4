"""The chunked ladder's media work: one ffmpeg per chunk (every rung, video only), one ffmpeg
for the whole file's audio, and the segments they wrote gathered into one rendition per rung.

Every chunk is encoded with the same settings as the single-process ladder
(`ffmpeg.filter_graph`, x264 with keyframes forced at every segment boundary
and no scene-cut keyframes, so each GOP is closed and one segment long). A
chunk seeks to its start (`-ss`, frame-exact: ffmpeg decodes from the keyframe
before and drops what precedes the start), and its output timestamps are
shifted by its start (`-output_ts_offset`) so its segments continue the
previous chunk's timeline. Every timestamp, audio included, is also shifted
by `TS_BASE`: with it no chunk ever has a negative decode timestamp, which
the muxer would otherwise shift for the first chunk only (by the B-frame
delay), putting that chunk's picture out of step with the others and the
audio. Segment numbers are global (`-start_number`), so a chunk's files land
next to the other chunks' under the rung's folder.

Every chunk but the first starts its encode `preroll` seconds early, as one
extra, shorter segment (`-hls_init_time`) numbered just before the chunk's
first; `gather_chunk` throws it away. By the chunk's own first frame, x264's
rate control has warmed up on the pictures before it, as it had in a single
process (without it the chunk's first second came out ~2 dB PSNR worse).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from mediaplane.servicekit import children, media
from mediaplane.transcoder.adapters.ffmpeg import (
    _HEAD,
    PLAYLIST_NAME,
    SEGMENT_PATTERN,
    filter_graph,
)
from mediaplane.transcoder.adapters.ffprobe import tool_failure
from mediaplane.transcoder.adapters.playlists import PlaylistError, parse_media_playlist
from mediaplane.transcoder.config import EncodingSettings, ToolLimits
from mediaplane.transcoder.domain.chunks import Chunk, PlaylistEntry, render_media_playlist
from mediaplane.transcoder.domain.errors import CorruptInput
from mediaplane.transcoder.domain.ladder import PlannedRendition, SourceMedia, output_fps

TS_BASE = 10.0  # seconds added to every timestamp (see the module's docstring)
AAC_CODECS = "mp4a.40.2"  # AAC-LC, what ffmpeg's aac encoder writes
_KEY_SLACK = 0.001  # seconds (see build_chunk_command)


class ChunkOutputInvalid(Exception):
    """A chunk's ffmpeg did not write the segments its chunk plan promises (retried)."""


def audio_name(kbps: int) -> str:
    return f"audio_{kbps}k"


def audio_bitrates(renditions: Sequence[PlannedRendition]) -> list[int]:
    """One audio rendition per distinct rung audio bitrate, highest first."""
    return sorted({r.audio_kbps for r in renditions}, reverse=True)


def lead_in(chunk: Chunk, preroll: float, fps: float) -> float:
    """Seconds encoded before `chunk` and thrown away: `preroll` as a whole number of
    frames at `fps`, the output's rate (none before the source's start).

    Whole frames keep the encoder's frame grid, anchored at the seek, on the
    one the chunk's own start anchors, as without a lead-in: half a frame off,
    its frames' timestamps were rounded a frame late and the chunk wrote one
    frame of the next.
    """
    return round(preroll * fps) / fps if chunk.first_segment > 0 else 0.0


def build_chunk_command(
    ffmpeg: str,
    demuxer: media.Demuxer,
    source_path: Path,
    chunk_dir: Path,
    source: SourceMedia,
    renditions: Sequence[PlannedRendition],
    encoding: EncodingSettings,
    chunk: Chunk,
    last: bool,
    lead: float,
) -> list[str]:
    """Every rung of one chunk, video only, as HLS segments under `chunk_dir/<rung>/`
    (after a `lead` seconds long segment of lead-in, see `lead_in`)."""
    seg = encoding.segment_seconds
    fps = output_fps(source, encoding.max_fps)
    seek = chunk.start - lead
    # The chunk's first frame is `lead` in, on the encoder's grid; a millisecond of slack
    # keeps float rounding from moving its keyframe to the frame after.
    first_key = lead - _KEY_SLACK if lead else 0.0
    argv = [ffmpeg, *_HEAD, *media.input_options(demuxer), "-ss", f"{seek:.6f}"]
    if not last:
        argv += ["-t", f"{chunk.duration + lead:.6f}"]
    argv += ["-i", str(source_path), "-filter_complex", filter_graph(source, renditions, fps)]
    for i in range(len(renditions)):
        argv += ["-map", f"[v{i}]"]
    argv += ["-an", "-map_metadata", "-1", "-map_chapters", "-1"]
    argv += [
        "-c:v", "libx264", "-preset", encoding.preset, "-profile:v", "high",
        "-sc_threshold", "0", "-force_key_frames", f"expr:gte(t,{first_key:.6f}+n_forced*{seg:g})",
    ]  # fmt: skip
    if lead:
        # The lead-in's cut needs the chunk's boundaries to be its only keyframes after the
        # first: the muxer cuts at every keyframe `-hls_init_time` after the last cut.
        argv += ["-x264-params", "keyint=infinite"]
    for i, r in enumerate(renditions):
        argv += [
            f"-b:v:{i}", f"{r.video_kbps}k",
            f"-maxrate:v:{i}", f"{r.maxrate_kbps}k",
            f"-bufsize:v:{i}", f"{r.bufsize_kbps}k",
        ]  # fmt: skip
    streams = " ".join(f"v:{i},name:{r.name}" for i, r in enumerate(renditions))
    argv += ["-output_ts_offset", f"{TS_BASE + seek:.6f}", "-f", "hls"]
    if lead:
        # Any time between the first frame and the chunk's first keyframe cuts there.
        argv += ["-hls_init_time", f"{lead / 2:.6f}"]
    argv += [
        "-hls_time", f"{seg:g}", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-start_number", str(chunk.first_segment - (1 if lead else 0)),
        "-hls_segment_filename", str(chunk_dir / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", streams, str(chunk_dir / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    return argv


def build_audio_command(
    ffmpeg: str,
    demuxer: media.Demuxer,
    source_path: Path,
    out_dir: Path,
    bitrates: Sequence[int],
    segment_seconds: float,
) -> list[str]:
    """The whole file's audio, once: one stereo AAC HLS rendition per bitrate."""
    argv = [ffmpeg, *_HEAD, *media.input_options(demuxer), "-i", str(source_path)]
    for _ in bitrates:
        argv += ["-map", "0:a:0"]
    argv += ["-vn", "-map_metadata", "-1", "-map_chapters", "-1", "-c:a", "aac", "-ac", "2"]
    for i, kbps in enumerate(bitrates):
        argv += [f"-b:a:{i}", f"{kbps}k"]
    streams = " ".join(f"a:{i},name:{audio_name(k)}" for i, k in enumerate(bitrates))
    argv += [
        "-output_ts_offset", f"{TS_BASE:.6f}",
        "-f", "hls", "-hls_time", f"{segment_seconds:g}", "-hls_playlist_type", "vod",
        "-hls_flags", "independent_segments", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", str(out_dir / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", streams, str(out_dir / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    return argv


def join_segments(rendition_dir: Path, target: Path) -> None:
    """A rendition's segments, in playlist order, as one transport stream (they are
    contiguous: one stream of timestamps, cut at keyframes)."""
    playlist = parse_media_playlist((rendition_dir / PLAYLIST_NAME).read_text("utf-8"))
    with target.open("wb") as out:
        for uri, _ in playlist.segments:
            with (rendition_dir / uri).open("rb") as segment:
                shutil.copyfileobj(segment, out, 1024 * 1024)


def build_mp4_command(
    ffmpeg: str, video: Path, audio: Path | None, start: float, target: Path
) -> list[str]:
    """The progressive fallback as a remux (no encode) of a rung and its audio rendition.

    Timestamps are kept (`-copyts`) and shifted by the video's first one, so the audio
    keeps its place against the picture (its encoder priming lands before 0 and is cut
    by the MP4's edit list).
    """
    argv = [ffmpeg, *_HEAD, "-copyts", "-protocol_whitelist", "file", "-f", "mpegts"]
    argv += ["-i", str(video)]
    if audio is not None:
        argv += ["-protocol_whitelist", "file", "-f", "mpegts", "-i", str(audio)]
    argv += ["-map", "0:v:0", *(["-map", "1:a:0"] if audio is not None else [])]
    argv += ["-c", "copy", "-output_ts_offset", f"{-start:.6f}"]
    argv += ["-movflags", "+faststart", "-f", "mp4", str(target)]
    return argv


async def start_time(ffprobe: str, path: Path, tools: ToolLimits) -> float:
    """The first presentation timestamp of a transport stream we wrote."""
    data = await _probe(
        ffprobe,
        ["-f", "mpegts", "-protocol_whitelist", "file", "-select_streams", "v:0",
         "-show_entries", "stream=start_time", "-print_format", "json", str(path)],
        tools,
    )  # fmt: skip
    streams = data.get("streams") or []
    try:
        return float(streams[0]["start_time"])
    except (IndexError, KeyError, ValueError):
        raise ChunkOutputInvalid(f"{path.name} has no video start time") from None


# Keyframe lists are one short CSV line per video packet: 6 h at 60 fps is ~20 MiB.
_PACKET_LIST_LIMIT = 64 * 1024 * 1024


async def _run_probe(
    ffprobe: str, argv: Sequence[str], tools: ToolLimits, stdout_limit: int = 16 * 1024 * 1024
) -> bytes:
    budget = children.Limits(
        cpu_seconds=tools.probe_cpu,
        memory_bytes=tools.memory_bytes,
        wall_seconds=tools.probe_timeout,
    )
    try:
        completed = await children.run(
            [ffprobe, "-v", "error", *argv], limits=budget, stdout_limit=stdout_limit
        )
    except children.LimitExceeded as exceeded:
        raise tool_failure(exceeded, "ffprobe") from None
    if completed.returncode != 0:
        reason = completed.stderr.strip().splitlines()[-1:] or ["unreadable"]
        raise CorruptInput(f"ffprobe cannot read the file: {reason[0]}")
    return bytes(completed.stdout)


async def _probe(ffprobe: str, argv: Sequence[str], tools: ToolLimits) -> dict[str, Any]:
    out = await _run_probe(ffprobe, argv, tools)
    try:
        return msgspec.json.decode(out, type=dict[str, Any])
    except msgspec.DecodeError as error:
        raise ChunkOutputInvalid(f"ffprobe's output is not JSON: {error}") from None


async def keyframes(
    ffprobe: str, path: Path, demuxer: media.Demuxer, tools: ToolLimits
) -> list[float]:
    """The source's video keyframe times, from the packet index (nothing is decoded)."""
    out = await _run_probe(
        ffprobe,
        [*media.input_options(demuxer), "-select_streams", "v:0", "-show_entries",
         "packet=pts_time,flags", "-of", "csv=p=0", str(path)],
        tools,
        stdout_limit=_PACKET_LIST_LIMIT,
    )  # fmt: skip
    times = []
    for line in out.decode("ascii", errors="replace").splitlines():
        pts, _, flags = line.partition(",")
        if "K" in flags:
            try:
                times.append(float(pts))
            except ValueError:
                continue  # N/A: a packet without a timestamp
    return sorted(times)


async def video_codecs(ffprobe: str, segment: Path, tools: ToolLimits) -> str:
    """The RFC 6381 codec string of an H.264 segment we wrote, e.g. `avc1.64001f`."""
    data = await _probe(
        ffprobe,
        ["-f", "mpegts", "-protocol_whitelist", "file", "-select_streams", "v:0",
         "-show_entries", "stream=codec_name,profile,level", "-print_format", "json",
         str(segment)],
        tools,
    )  # fmt: skip
    streams = data.get("streams") or []
    if not streams or streams[0].get("codec_name") != "h264":
        raise ChunkOutputInvalid(f"{segment.name} holds no H.264 stream")
    profiles = {"High": 0x64, "Main": 0x4D, "Constrained Baseline": 0x42, "Baseline": 0x42}
    profile = profiles.get(str(streams[0].get("profile")), 0x64)
    return f"avc1.{profile:02x}00{int(streams[0].get('level', 40)):02x}"


def gather_chunk(
    chunk_dir: Path,
    out_dir: Path,
    renditions: Sequence[PlannedRendition],
    chunk: Chunk,
    lead: float,
) -> dict[str, list[PlaylistEntry]]:
    """Check one chunk's output and move its segments into `out_dir/<rung>/`.

    Each rung must hold exactly the chunk's planned segments, numbered from
    its first one (after its lead-in segment, which stays behind and is
    deleted); these are what other chunks' segments join.
    """
    gathered: dict[str, list[PlaylistEntry]] = {}
    first = chunk.first_segment - (1 if lead else 0)
    expected = [SEGMENT_PATTERN % n for n in range(first, chunk.first_segment + chunk.segments)]
    for rendition in renditions:
        source_dir = chunk_dir / rendition.name
        try:
            playlist = parse_media_playlist((source_dir / PLAYLIST_NAME).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, PlaylistError) as error:
            raise ChunkOutputInvalid(f"chunk {chunk.index} {rendition.name}: {error}") from None
        uris = [uri for uri, _ in playlist.segments]
        if uris != expected:
            raise ChunkOutputInvalid(
                f"chunk {chunk.index} {rendition.name} wrote {uris}, planned {expected}"
            )
        own = playlist.segments[len(expected) - chunk.segments :]
        target = out_dir / rendition.name
        target.mkdir(parents=True, exist_ok=True)
        for uri, _ in own:
            if (source_dir / uri).stat().st_size == 0:
                raise ChunkOutputInvalid(f"chunk {chunk.index} {rendition.name}/{uri} is empty")
            shutil.move(source_dir / uri, target / uri)
        gathered[rendition.name] = [PlaylistEntry(uri=u, duration=d) for u, d in own]
    shutil.rmtree(chunk_dir, ignore_errors=True)
    return gathered


def write_playlists(
    out_dir: Path,
    entries: dict[str, list[PlaylistEntry]],
    *,
    segment_seconds: float,
    ended: bool,
) -> None:
    """Each rung's stitched playlist (EVENT while chunks are missing, VOD once all are in)."""
    for name, rung in entries.items():
        text = render_media_playlist(rung, segment_seconds=segment_seconds, ended=ended)
        (out_dir / name / PLAYLIST_NAME).write_text(text, encoding="utf-8")
