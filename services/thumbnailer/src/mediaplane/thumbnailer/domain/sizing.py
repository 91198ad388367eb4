"""Thumbnail sizes: a name and a bound on the longest side, never upscaled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ThumbnailSize:
    name: str
    longest: int

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.name.isascii():
            raise ValueError(f"thumbnail size name {self.name!r} must be a plain ASCII word")
        if not 1 <= self.longest <= 8192:
            raise ValueError(f"thumbnail size {self.name} must be 1..8192 px, not {self.longest}")


DEFAULT_SIZES: tuple[ThumbnailSize, ...] = (
    ThumbnailSize("small", 160),
    ThumbnailSize("medium", 320),
    ThumbnailSize("large", 1280),
)


def parse_sizes(spec: str) -> tuple[ThumbnailSize, ...]:
    """`"small:160,medium:320,large:1280"` -> sizes, largest last; names must be unique."""
    sizes: list[ThumbnailSize] = []
    for item in spec.split(","):
        name, sep, longest = item.strip().partition(":")
        if not sep or not longest.strip().isdigit():
            raise ValueError(f"thumbnail size {item!r} is not NAME:PIXELS")
        sizes.append(ThumbnailSize(name.strip(), int(longest)))
    return check_sizes(sizes)


def check_sizes(sizes: Sequence[ThumbnailSize]) -> tuple[ThumbnailSize, ...]:
    if not sizes:
        raise ValueError("at least one thumbnail size is needed")
    names = [size.name for size in sizes]
    if len(set(names)) != len(names):
        raise ValueError(f"thumbnail size names repeat: {names}")
    return tuple(sorted(sizes, key=lambda size: size.longest))


def fit(width: int, height: int, longest: int) -> tuple[int, int]:
    """The size of a `width` x `height` picture scaled so its longest side is at most `longest`.

    Never larger than the source (no upscaling), never smaller than 1 px.
    """
    if width < 1 or height < 1:
        raise ValueError(f"no picture is {width}x{height}")
    side = max(width, height)
    if side <= longest:
        return width, height
    scale = longest / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def display_size(
    width: int, height: int, aspect: str | None, rotation: float | None
) -> tuple[int, int]:
    """How big a video frame is on screen: stored size x sample aspect ratio, then rotation.

    `aspect` is ffprobe's `sample_aspect_ratio` (`"4:3"`; `"0:1"` or None when
    unknown, i.e. square), `rotation` its display-matrix rotation in degrees.
    """
    numerator, _, denominator = (aspect or "").partition(":")
    if numerator.isdigit() and denominator.isdigit() and int(numerator) and int(denominator):
        width = max(1, round(width * int(numerator) / int(denominator)))
    if rotation is not None and round(abs(rotation)) % 180 == 90:
        return height, width
    return width, height
