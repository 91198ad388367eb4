"""The configured watermark (an image or a text), laid on variants that ask for it.

Built once per process from the settings. Its `tag` (a digest of everything
that shapes it) is part of every watermarked variant's name, so changing the
watermark makes new variants instead of serving ones with the old mark.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from mediaplane.thumbnailer.config import WatermarkOptions
from mediaplane.thumbnailer.domain.errors import WatermarkDoesNotFit
from mediaplane.thumbnailer.domain.variant_geometry import MIN_WATERMARK_SIDE


class Watermark:
    def __init__(self, options: WatermarkOptions) -> None:
        self.options = options
        if options.image is not None:
            data = Path(options.image).read_bytes()
            with Image.open(options.image, formats=("PNG",)) as loaded:
                self._mark = loaded.convert("RGBA")
        else:
            data = options.text.encode()
            self._mark = _text_mark(options.text)
        shape = f"{options.position}|{options.opacity}|{options.scale}|{options.margin}|"
        self.tag = hashlib.sha256(shape.encode() + data).hexdigest()[:8]

    def apply(self, picture: Image.Image) -> Image.Image:
        """`picture` (RGB or RGBA) with the mark on it; refused when too small to carry it."""
        o = self.options
        width = round(picture.width * o.scale)
        height = round(self._mark.height * width / self._mark.width)
        if min(picture.size) < MIN_WATERMARK_SIDE or min(width, height) < 4:
            raise WatermarkDoesNotFit(
                f"the {picture.width}x{picture.height} variant is smaller than the"
                f" {MIN_WATERMARK_SIDE} px a watermark needs"
            )
        mark = self._mark.resize((width, height), Image.Resampling.LANCZOS)
        alpha = mark.getchannel("A").point(lambda value: round(value * o.opacity))
        mark.putalpha(alpha)
        margin = round(min(picture.size) * o.margin)
        x = {"left": margin, "right": picture.width - width - margin}
        y = {"top": margin, "bottom": picture.height - height - margin}
        if o.position == "center":
            at = ((picture.width - width) // 2, (picture.height - height) // 2)
        else:
            vertical, horizontal = o.position.split("-")
            at = (x[horizontal], y[vertical])
        base = picture.convert("RGBA")
        base.alpha_composite(mark, dest=at)
        return base if picture.mode == "RGBA" else base.convert("RGB")


def _text_mark(text: str) -> Image.Image:
    """White text with a dark outline (legible on any picture), drawn large, scaled per use."""
    font = ImageFont.load_default(size=96)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, stroke_width=4)
    size = (int(right - left) + 8, int(bottom - top) + 8)
    mark = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(mark).text(
        (4 - left, 4 - top),
        text,
        font=font,
        fill=(255, 255, 255, 255),
        stroke_width=4,
        stroke_fill=(0, 0, 0, 255),
    )
    return mark
