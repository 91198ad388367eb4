"""ffprobe: what the source is (duration, size as displayed, rotation, frame rate, codecs).

ffprobe never guesses the container: it reads the file with the demuxer of
its verified media type, local files only, and a file that is a playlist or
script (which would make it open the files it names) is refused first.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import msgspec

from mediaplane.servicekit import children, media
from mediaplane.transcoder.config import SourceLimits, ToolLimits
from mediaplane.transcoder.domain.audio import AudioMedia
from mediaplane.transcoder.domain.errors import (
    ContainerNotAllowed,
    CorruptInput,
    EmptyMedia,
    JobTimedOut,
    ResourceLimit,
    UnsupportedMedia,
)
from mediaplane.transcoder.domain.ladder import SourceMedia

_HEAD = 8192  # as many bytes as the upload verifier sniffs


def _ratio(text: str | None) -> Fraction | None:
    """`"30000/1001"` or `"16:9"` -> Fraction; None for absent or zero values like `"0/0"`."""
    if not text:
        return None
    num, _, den = text.replace(":", "/").partition("/")
    try:
        value = Fraction(int(num), int(den or 1))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _rotation(stream: dict[str, Any]) -> int:
    """Clockwise display rotation in degrees, one of 0, 90, 180, 270."""
    degrees: float = 0
    for side_data in stream.get("side_data_list") or []:
        if "rotation" in side_data:
            degrees = float(side_data["rotation"])
            break
    else:
        # Containers written before display matrices were exposed use a tag.
        degrees = float((stream.get("tags") or {}).get("rotate", 0))
    return round(degrees / 90) * 90 % 360


def _duration(data: dict[str, Any], stream: dict[str, Any]) -> float | None:
    for text in ((data.get("format") or {}).get("duration"), stream.get("duration")):
        try:
            value = float(text) if text is not None else 0.0
        except ValueError:
            continue
        if value > 0:
            return value
    return None


def demuxer(media_type: str) -> media.Demuxer:
    """The demuxer the tools read a source of `media_type` with (`container_refused` if none)."""
    try:
        return media.demuxer_for(media_type)
    except media.ContainerRefused as refused:
        raise ContainerNotAllowed(refused.detail) from None


def check_head(path: Path) -> None:
    """Refuse a playlist or script before any tool opens it (whatever its media type said)."""
    with path.open("rb") as file:
        head = file.read(_HEAD)
    if (script := media.script_signature(head)) is not None:
        raise ContainerNotAllowed(f"the file is {script}, which names other files")


def tool_failure(exceeded: children.LimitExceeded, tool: str) -> JobTimedOut | ResourceLimit:
    """The permanent failure of a tool stopped by one of its limits."""
    detail = f"{tool} {exceeded.detail}"
    return JobTimedOut(detail) if exceeded.kind == "wall" else ResourceLimit(detail)


def _check_container(data: dict[str, Any], expected: media.Demuxer | None) -> None:
    """With `expected`, what ffprobe read the file as must be exactly that demuxer."""
    if expected is not None:
        try:
            media.check_format_name(str((data.get("format") or {}).get("format_name")), expected)
        except media.ContainerRefused as refused:
            raise ContainerNotAllowed(refused.detail) from None


def parse_audio_probe(
    data: dict[str, Any], limits: SourceLimits, expected: media.Demuxer | None = None
) -> AudioMedia:
    """Judge ffprobe's JSON for an audio file: an `AudioMedia` or a permanent error.

    A file that parses but lasts 0 s (a header without samples) is `empty_media`.
    """
    _check_container(data, expected)
    audio = next((s for s in data.get("streams") or [] if s.get("codec_type") == "audio"), None)
    if audio is None:
        raise UnsupportedMedia("the file has no audio stream")
    codec = audio.get("codec_name")
    if not codec or codec == "none":
        raise UnsupportedMedia("the audio codec is not recognised")
    duration = _duration(data, audio)
    if duration is None:
        raise EmptyMedia("the audio lasts 0 s: it has no samples to play")
    if duration > limits.max_duration:
        raise UnsupportedMedia(f"{duration:.0f} s exceeds {limits.max_duration:.0f} s")
    return AudioMedia(
        duration=duration,
        codec=str(codec),
        channels=int(audio.get("channels") or 0),
        sample_rate=int(audio.get("sample_rate") or 0),
    )


def parse_probe(
    data: dict[str, Any], limits: SourceLimits, expected: media.Demuxer | None = None
) -> SourceMedia:
    """Judge ffprobe's JSON (`-show_format -show_streams`): a `SourceMedia` or a permanent error.

    With `expected`, what ffprobe read the file as must be exactly that demuxer.
    """
    _check_container(data, expected)
    streams = data.get("streams") or []
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video"
        # Cover art in audio files is a "video" stream of one picture.
        and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if not videos:
        raise UnsupportedMedia("the file has no video stream")
    video = videos[0]
    codec = video.get("codec_name")
    if not codec or codec == "none":
        raise UnsupportedMedia("the video codec is not recognised")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if width <= 0 or height <= 0:
        raise CorruptInput("the video stream has no picture size")
    duration = _duration(data, video)
    if duration is None:
        raise CorruptInput("the file has no duration")
    fps = _ratio(video.get("avg_frame_rate")) or _ratio(video.get("r_frame_rate"))
    if fps is None:
        raise UnsupportedMedia("the video stream has no frame rate")

    sar = _ratio(video.get("sample_aspect_ratio"))
    if sar is not None and sar != 1:
        width = round(width * sar)  # anamorphic: display the pixels at their intended shape
    rotation = _rotation(video)
    if rotation in (90, 270):
        width, height = height, width
    if max(width, height) > limits.max_dimension:
        raise UnsupportedMedia(f"{width}x{height} exceeds {limits.max_dimension} px")
    if duration > limits.max_duration:
        raise UnsupportedMedia(f"{duration:.0f} s exceeds {limits.max_duration:.0f} s")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    return SourceMedia(
        width=width,
        height=height,
        duration=duration,
        fps=float(fps),
        video_codec=str(codec),
        audio_codec=str(audio.get("codec_name") or "unknown") if audio else None,
        rotation=rotation,
    )


async def probe(
    ffprobe: str, path: Path, media_type: str, limits: SourceLimits, tools: ToolLimits
) -> SourceMedia:
    data, expected = await _probe_json(ffprobe, path, media_type, tools)
    return parse_probe(data, limits, expected)


async def probe_audio(
    ffprobe: str, path: Path, media_type: str, limits: SourceLimits, tools: ToolLimits
) -> AudioMedia:
    data, expected = await _probe_json(ffprobe, path, media_type, tools)
    return parse_audio_probe(data, limits, expected)


async def _probe_json(
    ffprobe: str, path: Path, media_type: str, tools: ToolLimits
) -> tuple[dict[str, Any], media.Demuxer]:
    """ffprobe's JSON for the file, read as its media type's demuxer (local files only)."""
    expected = demuxer(media_type)
    check_head(path)
    argv = [ffprobe, "-v", "error", *media.input_options(expected)]
    argv += ["-print_format", "json", "-show_format", "-show_streams", str(path)]
    budget = children.Limits(
        cpu_seconds=tools.probe_cpu,
        memory_bytes=tools.memory_bytes,
        wall_seconds=tools.probe_timeout,
    )
    try:
        completed = await children.run(argv, limits=budget)
    except children.LimitExceeded as exceeded:
        raise tool_failure(exceeded, "ffprobe") from None
    if completed.returncode != 0:
        # ffprobe fails only when it cannot read the container at all.
        reason = completed.stderr.strip().splitlines()[-1:] or ["unreadable"]
        raise CorruptInput(f"ffprobe cannot read the file: {reason[0]}")
    try:
        data = msgspec.json.decode(completed.stdout, type=dict[str, Any])
    except msgspec.DecodeError as error:
        raise CorruptInput(f"ffprobe output is not JSON: {error}") from None
    return data, expected
