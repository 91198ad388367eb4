"""The HLS ladder: which renditions a source gets, at what size and bitrate (pure).

Rung names follow the short side of the picture (`720p` is 1280x720 for a
landscape source and 720x1280 for a portrait one), as players and viewers
expect; a source only gets rungs at or below its own short side, so nothing
is ever upscaled. A source smaller than the smallest rung gets one rendition
at its own size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Peak allowance and VBV buffer relative to the target bitrate: a capped VBR
# that keeps segments close to the advertised bandwidth (Apple's HLS authoring
# spec asks for peaks within 110 % of the average for VOD).
MAXRATE_FACTOR = 1.07
BUFSIZE_FACTOR = 2.0


@dataclass(frozen=True, kw_only=True)
class RungSpec:
    """One configured rung: short-side size and target bitrates in kbit/s."""

    height: int
    video_kbps: int
    audio_kbps: int

    def __post_init__(self) -> None:
        if self.height < 2 or self.height % 2:
            raise ValueError(f"rung height must be even and >= 2, got {self.height}")
        if self.video_kbps <= 0 or self.audio_kbps <= 0:
            raise ValueError("rung bitrates must be positive")


DEFAULT_LADDER = (
    RungSpec(height=1080, video_kbps=5000, audio_kbps=128),
    RungSpec(height=720, video_kbps=2800, audio_kbps=128),
    RungSpec(height=480, video_kbps=1400, audio_kbps=96),
    RungSpec(height=360, video_kbps=800, audio_kbps=64),
)


def parse_ladder(text: str) -> tuple[RungSpec, ...]:
    """`"1080:5000:128,720:2800:128"` (height:video kbit/s:audio kbit/s) -> rungs, tallest first."""
    rungs = []
    for item in text.split(","):
        parts = item.strip().split(":")
        if len(parts) != 3:
            raise ValueError(f"ladder rung {item!r} is not height:video_kbps:audio_kbps")
        height, video, audio = (int(p) for p in parts)
        rungs.append(RungSpec(height=height, video_kbps=video, audio_kbps=audio))
    if not rungs or len({r.height for r in rungs}) != len(rungs):
        raise ValueError("the ladder needs at least one rung and distinct heights")
    return tuple(sorted(rungs, key=lambda r: r.height, reverse=True))


@dataclass(frozen=True, kw_only=True)
class SourceMedia:
    """What ffprobe found, as displayed: rotation and pixel aspect already applied."""

    width: int
    height: int
    duration: float
    fps: float
    video_codec: str
    audio_codec: str | None
    rotation: int = 0

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


@dataclass(frozen=True, kw_only=True)
class PlannedRendition:
    name: str
    width: int
    height: int
    video_kbps: int
    audio_kbps: int

    @property
    def maxrate_kbps(self) -> int:
        return round(self.video_kbps * MAXRATE_FACTOR)

    @property
    def bufsize_kbps(self) -> int:
        return round(self.video_kbps * BUFSIZE_FACTOR)


def even(value: float) -> int:
    """The nearest even number >= 2 (H.264 with 4:2:0 chroma needs even dimensions)."""
    return max(2, 2 * round(value / 2))


def _fit(source: SourceMedia, short: int) -> tuple[int, int]:
    """Width and height with the short side `short` and the source's aspect ratio."""
    landscape = source.width >= source.height
    long_side = even(max(source.width, source.height) * short / min(source.width, source.height))
    return (long_side, short) if landscape else (short, long_side)


def plan_ladder(source: SourceMedia, rungs: Sequence[RungSpec]) -> list[PlannedRendition]:
    """The renditions of `source`, tallest first."""
    if not rungs:
        raise ValueError("the ladder has no rungs")
    short_side = min(source.width, source.height)
    fitting = [r for r in sorted(rungs, key=lambda r: -r.height) if r.height <= short_side]
    if not fitting:
        smallest = min(rungs, key=lambda r: r.height)
        own = short_side - short_side % 2 or 2
        width, height = _fit(source, own)
        return [
            PlannedRendition(
                name=f"{own}p",
                width=width,
                height=height,
                video_kbps=smallest.video_kbps,
                audio_kbps=smallest.audio_kbps,
            )
        ]
    planned = []
    for rung in fitting:
        width, height = _fit(source, rung.height)
        planned.append(
            PlannedRendition(
                name=f"{rung.height}p",
                width=width,
                height=height,
                video_kbps=rung.video_kbps,
                audio_kbps=rung.audio_kbps,
            )
        )
    return planned


def output_fps(source: SourceMedia, max_fps: float) -> float:
    """The frame rate of every rendition: the source's, capped (e.g. 120 fps -> 60)."""
    if source.fps <= max_fps:
        return source.fps
    # Halving keeps cadence smooth (every other frame) where it gets under the cap.
    halved = source.fps
    while halved > max_fps:
        halved /= 2
    return halved


def job_timeout(duration: float, *, base: float, per_second: float, cap: float = math.inf) -> float:
    """The budget of one job (wall or CPU seconds): fixed start-up time plus a multiple of
    the source duration, at most `cap`."""
    return min(base + per_second * duration, cap)
