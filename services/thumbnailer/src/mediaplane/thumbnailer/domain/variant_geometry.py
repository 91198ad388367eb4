"""Where a variant's pixels come from: the size to resize the upright source to, and the
size of the window cut from it. Pure arithmetic; never enlarges."""

from __future__ import annotations

from dataclasses import dataclass

from mediaplane.thumbnailer.domain.variant_spec import VariantSpec

# A watermark narrower than this (or on a picture smaller than this) would be
# unreadable: the variant is refused rather than served without its mark.
MIN_WATERMARK_SIDE = 32


@dataclass(frozen=True)
class Geometry:
    resize: tuple[int, int]  # the upright source scaled to this...
    output: tuple[int, int]  # ...then a window of this size is cut from it (gravity)


def geometry(spec: VariantSpec, width: int, height: int) -> Geometry:
    """The plan for an upright `width` x `height` source."""
    if width < 1 or height < 1:
        raise ValueError(f"no picture is {width}x{height}")
    box_w, box_h = spec.width, spec.height
    if spec.mode == "crop":
        return Geometry((width, height), (min(box_w, width), min(box_h, height)))
    if spec.mode == "fit":
        scale = min(box_w / width, box_h / height, 1.0)
    else:  # fill: cover the box, then cut it out
        scale = min(max(box_w / width, box_h / height), 1.0)
    resized = (max(1, round(width * scale)), max(1, round(height * scale)))
    if spec.mode == "fit":
        return Geometry(resized, resized)
    return Geometry(resized, (min(box_w, resized[0]), min(box_h, resized[1])))


def centred(outer: tuple[int, int], inner: tuple[int, int]) -> tuple[int, int]:
    """The top-left corner of `inner` centred in `outer`."""
    return (outer[0] - inner[0]) // 2, (outer[1] - inner[1]) // 2


def window_positions(free: int, steps: int = 9) -> list[int]:
    """Offsets of a sliding window with `free` pixels of play, evenly spread, ends included."""
    if free <= 0:
        return [0]
    count = min(steps, free + 1)
    return sorted({round(free * i / (count - 1)) for i in range(count)})
