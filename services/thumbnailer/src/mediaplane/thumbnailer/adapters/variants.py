"""Pillow: one variant of a picture (fit, fill or crop; centre or smart gravity; any of
four formats; an optional watermark), upright, in sRGB and without metadata.

The same safe opening as the thumbnails (`images`): an allow-list of parsers,
the pixel count checked before decoding, JPEGs decoded at the smallest scale
that covers the output; EXIF rotation and the ICC conversion on the resized
picture. Blocking and CPU-heavy: run it in the CPU pool.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from mediaplane.thumbnailer.adapters import images
from mediaplane.thumbnailer.adapters.watermark import Watermark
from mediaplane.thumbnailer.config import VariantSettings
from mediaplane.thumbnailer.domain.policy import MediaLimits
from mediaplane.thumbnailer.domain.variant_geometry import (
    Geometry,
    centred,
    geometry,
    window_positions,
)
from mediaplane.thumbnailer.domain.variant_spec import VariantSpec

# Smart gravity judges windows on a copy this size at most (the detail that
# decides is coarse; judging full-size windows would cost more than the resize).
_JUDGE_SIDE = 160


@dataclass(frozen=True)
class EncodedVariant:
    width: int
    height: int
    data: bytes


def render_variant(
    path: Path,
    *,
    media_type: str,
    spec: VariantSpec,
    limits: MediaLimits,
    watermark: Watermark | None,
    settings: VariantSettings,
) -> EncodedVariant:
    with images.open_checked(path, media_type, limits) as image:
        orientation = images.exif_orientation(image)
        swapped = orientation in images.SWAPS_SIDES
        width, height = (image.height, image.width) if swapped else image.size
        plan = geometry(spec, width, height)
        stored = (plan.resize[1], plan.resize[0]) if swapped else plan.resize
        icc_profile = image.info.get("icc_profile")
        picture = images.resize(images.decode(image, stored), stored)
        picture = images.upright(picture, orientation)
        picture = images.to_srgb(picture, icc_profile)
    picture = _cut(picture, plan, spec)
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
    if spec.watermark:
        if watermark is None:
            raise RuntimeError("a watermarked spec reached a renderer without a watermark")
        picture = watermark.apply(picture)
    return EncodedVariant(picture.width, picture.height, encode(picture, spec, settings))


def _cut(picture: Image.Image, plan: Geometry, spec: VariantSpec) -> Image.Image:
    if plan.output == picture.size:
        return picture
    if spec.gravity == "smart":
        left, top = _busiest_window(picture, plan.output)
    else:
        left, top = centred(picture.size, plan.output)
    return picture.crop((left, top, left + plan.output[0], top + plan.output[1]))


def _busiest_window(picture: Image.Image, size: tuple[int, int]) -> tuple[int, int]:
    """The window of `size` whose content has the most entropy (detail), judged on a small
    grey copy; ties go to the window nearest the centre."""
    factor = max(1.0, max(picture.size) / _JUDGE_SIDE)
    small = picture.convert("L").resize(
        (max(1, round(picture.width / factor)), max(1, round(picture.height / factor))),
        Image.Resampling.BOX,
    )
    win = (max(1, round(size[0] / factor)), max(1, round(size[1] / factor)))
    centre = centred(small.size, win)
    best: tuple[float, float, tuple[int, int]] | None = None
    for left in window_positions(small.width - win[0]):
        for top in window_positions(small.height - win[1]):
            score = small.crop((left, top, left + win[0], top + win[1])).entropy()
            distance = abs(left - centre[0]) + abs(top - centre[1])
            candidate = (-score, distance, (left, top))
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    assert best is not None  # window_positions always yields at least one offset
    left, top = best[2]
    free_x, free_y = picture.width - size[0], picture.height - size[1]
    return min(free_x, round(left * factor)), min(free_y, round(top * factor))


def encode(picture: Image.Image, spec: VariantSpec, settings: VariantSettings) -> bytes:
    """Encode with no metadata at all: no EXIF (GPS, camera serials), no ICC, no XMP."""
    picture.info = {}
    buffer = io.BytesIO()
    if spec.format == "jpeg":
        if picture.mode == "RGBA":
            picture = images.flatten(picture)
        picture.save(buffer, "JPEG", quality=spec.quality, optimize=True, exif=b"")
    elif spec.format == "png":
        picture.save(buffer, "PNG")
    elif spec.format == "webp":
        picture.save(
            buffer,
            "WEBP",
            quality=spec.quality,
            method=settings.webp_method,
            exif=b"",
            icc_profile=None,
            xmp=b"",
        )
    else:
        picture.save(
            buffer,
            "AVIF",
            quality=spec.quality,
            speed=settings.avif_speed,
            exif=b"",
            icc_profile=None,
            xmp=b"",
        )
    return buffer.getvalue()
