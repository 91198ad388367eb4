"""ffprobe and ffmpeg (Debian's build): what a video is, and one decoded frame of it as PNG.

Neither tool guesses the container: both read the file with the demuxer of
its verified media type, local files only, and a playlist or script (which
would make them open the files it names) is refused before either runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediaplane.servicekit import children, media
from mediaplane.thumbnailer.adapters.tools import error_text, run_tool
from mediaplane.thumbnailer.domain.errors import ContainerNotAllowed, CorruptInput, UnsupportedMedia
from mediaplane.thumbnailer.domain.sizing import display_size

_HEAD = 8192  # as many bytes as the upload verifier sniffs

# ffmpeg's `thumbnail` filter keeps the frame closest to the average colour
# histogram of this many consecutive frames (about a second): it skips flashes,
# cuts and single black frames around the seek point.
_THUMBNAIL_FRAMES = 24


@dataclass(frozen=True)
class VideoInfo:
    """The stored frame size (what decoding costs) and the size a viewer sees."""

    width: int
    height: int
    display_width: int
    display_height: int
    codec: str
    duration: float | None
    demuxer: media.Demuxer  # what the file is read as


def demuxer(path: Path, media_type: str) -> media.Demuxer:
    """The demuxer for a source of `media_type`; refuses a playlist or script whatever its type."""
    try:
        expected = media.demuxer_for(media_type)
    except media.ContainerRefused as refused:
        raise ContainerNotAllowed(refused.detail) from None
    with path.open("rb") as file:
        head = file.read(_HEAD)
    if (script := media.script_signature(head)) is not None:
        raise ContainerNotAllowed(f"the file is {script}, which names other files")
    return expected


@dataclass(frozen=True)
class Ffmpeg:
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    # Each ffprobe and ffmpeg run (the job's timeout bounds their wall time).
    limits: children.Limits = field(default_factory=children.Limits)

    async def probe(self, path: Path, media_type: str) -> VideoInfo:
        """The first video stream's size and codec, and the duration; refuses audio-only files."""
        expected = demuxer(path, media_type)
        finished = await run_tool(
            "ffprobe",
            [
                self.ffprobe,
                "-v",
                "error",
                *media.input_options(expected),
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name,width,height,sample_aspect_ratio"
                ":stream_side_data=rotation:format=duration,format_name",
                "-of",
                "json",
                str(path),
            ],
            self.limits,
        )
        if finished.returncode != 0:
            raise CorruptInput(f"ffprobe cannot read the video: {error_text(finished)}")
        try:
            info = json.loads(finished.stdout)
        except ValueError:
            raise CorruptInput("ffprobe gave no readable description of the video") from None
        try:
            media.check_format_name(str(info.get("format", {}).get("format_name")), expected)
        except media.ContainerRefused as refused:
            raise ContainerNotAllowed(refused.detail) from None
        streams = info.get("streams") or []
        if not streams:
            raise UnsupportedMedia("the file has no video stream")
        stream = streams[0]
        width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
        if width < 1 or height < 1:
            raise CorruptInput("the video stream has no picture size")
        rotations = [d["rotation"] for d in stream.get("side_data_list", []) if "rotation" in d]
        display = display_size(
            width,
            height,
            stream.get("sample_aspect_ratio"),
            float(rotations[0]) if rotations else None,
        )
        return VideoInfo(
            width=width,
            height=height,
            display_width=display[0],
            display_height=display[1],
            codec=str(stream.get("codec_name") or "unknown"),
            duration=_seconds(info.get("format", {}).get("duration")),
            demuxer=expected,
        )

    async def describe(self, path: Path, media_type: str) -> dict[str, Any]:
        """ffprobe's JSON of the container and every stream (for metadata), format checked."""
        expected = demuxer(path, media_type)
        finished = await run_tool(
            "ffprobe",
            [
                self.ffprobe,
                "-v",
                "error",
                *media.input_options(expected),
                "-show_entries",
                "format=format_name,duration,bit_rate"
                ":stream=codec_type,codec_name,profile,width,height,avg_frame_rate,r_frame_rate"
                ",pix_fmt,color_transfer,color_primaries,channels,sample_rate,bit_rate,duration"
                ":stream_disposition=attached_pic:stream_tags=rotate:stream_side_data=rotation",
                "-of",
                "json",
                str(path),
            ],
            self.limits,
        )
        if finished.returncode != 0:
            raise CorruptInput(f"ffprobe cannot read the file: {error_text(finished)}")
        try:
            info = json.loads(finished.stdout)
        except ValueError:
            raise CorruptInput("ffprobe gave no readable description of the file") from None
        if not isinstance(info, dict):
            raise CorruptInput("ffprobe gave no readable description of the file")
        try:
            media.check_format_name(str(info.get("format", {}).get("format_name")), expected)
        except media.ContainerRefused as refused:
            raise ContainerNotAllowed(refused.detail) from None
        return info

    async def frame(
        self,
        path: Path,
        video: VideoInfo,
        position: float,
        output: Path,
        longest: int,
        *,
        representative: bool = True,
    ) -> bool:
        """Write a representative frame from `position` seconds on (with `representative`
        False: the frame at `position`) to `output` (PNG).

        False when the video has no frame there (e.g. past a wrong duration).
        The frame is upright (ffmpeg applies the rotation metadata), has
        square pixels (anamorphic video is stretched to its display aspect) and
        fits `longest`: scaled down before the `thumbnail` filter buffers its
        frames, which would otherwise hold 24 full frames (1.2 GB at 8K).
        """
        fit = (
            f"scale=w='min(iw,{longest})':h='min(ih,{longest})'"
            ":force_original_aspect_ratio=decrease"
        )
        # A poster asked for at a time is the frame there; else the most typical of the next few.
        pick = f",thumbnail={_THUMBNAIL_FRAMES}" if representative else ""
        finished = await run_tool(
            "ffmpeg",
            [
                self.ffmpeg,
                "-hide_banner",
                "-loglevel",
                "error",
                "-nostdin",
                # Before -i: seek in the container (fast), then decode from the keyframe.
                "-ss",
                f"{position:.3f}",
                *media.input_options(video.demuxer),
                "-i",
                str(path),
                "-map",
                "0:v:0",
                "-vf",
                f"scale=iw*sar:ih,setsar=1,{fit}{pick}",
                "-frames:v",
                "1",
                "-c:v",
                "png",
                "-compression_level",
                "1",
                "-f",
                "image2",
                "-y",
                str(output),
            ],
            self.limits,
        )
        if finished.returncode != 0:
            raise CorruptInput(f"ffmpeg cannot decode the video: {error_text(finished)}")
        return _written(output)


def _written(output: Path) -> bool:
    # ffmpeg exits 0 without writing when no frame follows the seek point.
    return output.exists() and output.stat().st_size > 0


def _seconds(value: object) -> float | None:
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return seconds if seconds > 0 else None
