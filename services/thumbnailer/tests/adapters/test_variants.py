"""The Pillow side of variants: formats, fit/fill/crop, gravity, orientation, metadata,
watermarks. Local files only."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.adapters.variants import EncodedVariant, render_variant
from mediaplane.thumbnailer.adapters.watermark import Watermark
from mediaplane.thumbnailer.config import VariantSettings, WatermarkOptions
from mediaplane.thumbnailer.domain.errors import WatermarkDoesNotFit
from mediaplane.thumbnailer.domain.policy import MediaLimits
from mediaplane.thumbnailer.domain.variant_spec import parse_spec

SETTINGS = VariantSettings()


def render(
    tmp_path: Path,
    data: bytes,
    text: str,
    *,
    media_type: str = "image/jpeg",
    watermark: Watermark | None = None,
) -> tuple[EncodedVariant, Image.Image]:
    source = tmp_path / "source"
    source.write_bytes(data)
    spec = parse_spec(text, max_pixels=SETTINGS.max_pixels)
    made = render_variant(
        source,
        media_type=media_type,
        spec=spec,
        limits=MediaLimits(),
        watermark=watermark,
        settings=SETTINGS,
    )
    picture = Image.open(io.BytesIO(made.data))
    picture.load()
    return made, picture


@pytest.mark.parametrize(
    ("extension", "pillow_format"),
    [("jpeg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("avif", "AVIF")],
)
def test_every_format_is_encoded_without_metadata(
    tmp_path: Path, extension: str, pillow_format: str
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N"}  # GPS IFD
    data = testing.encode(testing.photo(800, 600), "JPEG", exif=exif.tobytes(), quality=90)
    made, picture = render(tmp_path, data, f"fit-200x200.{extension}")
    assert picture.format == pillow_format
    assert (made.width, made.height) == picture.size == (200, 150)
    assert not picture.getexif()
    assert "icc_profile" not in picture.info
    assert "xmp" not in picture.info


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("fit-200x200.webp", (200, 150)),
        ("fill-200x200.webp", (200, 200)),
        ("crop-100x120.png", (100, 120)),
        ("fit-2000x2000.webp", (800, 600)),  # never enlarged
    ],
)
def test_fit_fill_and_crop_sizes(tmp_path: Path, text: str, size: tuple[int, int]) -> None:
    _, picture = render(tmp_path, testing.encode(testing.photo(800, 600), "JPEG"), text)
    assert picture.size == size


def detail_on_the_right() -> bytes:
    """Flat grey on the left three quarters, noise on the right quarter."""
    picture = Image.new("RGB", (800, 200), (128, 128, 128))
    picture.paste(Image.effect_noise((200, 200), 100).convert("RGB"), (600, 0))
    return testing.encode(picture, "PNG")


def test_smart_gravity_cuts_where_the_detail_is_and_center_cuts_the_middle(
    tmp_path: Path,
) -> None:
    _, smart = render(tmp_path, detail_on_the_right(), "fill-200x200-smart.png")
    _, middle = render(tmp_path, detail_on_the_right(), "fill-200x200-center.png")
    assert ImageStat.Stat(smart.convert("L")).stddev[0] > 20
    assert ImageStat.Stat(middle.convert("L")).stddev[0] < 1


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored sideways, tagged "turn 90 degrees": upright it is red on top, blue below.
    _, picture = render(tmp_path, testing.oriented_jpeg(400, 300), "fit-200x200.png")
    assert picture.size == (200, 150)
    rgb = picture.convert("RGB")
    top, bottom = rgb.getpixel((100, 20)), rgb.getpixel((100, 130))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 150 > top[2]
    assert bottom[2] > 150 > bottom[0]


def flat(width: int, height: int) -> bytes:
    return testing.encode(Image.new("RGB", (width, height), (128, 128, 128)), "PNG")


def changed_share(picture: Image.Image, box: tuple[int, int, int, int]) -> float:
    """The share of pixels in `box` that are not the flat grey any more."""
    histogram = picture.convert("L").crop(box).histogram()
    return sum(n for value, n in enumerate(histogram) if abs(value - 128) > 8) / sum(histogram)


def test_a_text_watermark_lands_at_its_position_with_its_opacity(tmp_path: Path) -> None:
    mark = Watermark(WatermarkOptions(text="mediaplane", position="bottom-right", opacity=0.6))
    _, picture = render(
        tmp_path, flat(400, 300), "fit-400x300-wm.png", media_type="image/png", watermark=mark
    )
    assert changed_share(picture, (250, 250, 400, 300)) > 0.05
    assert changed_share(picture, (0, 0, 150, 150)) == 0
    # Half opacity: nothing is fully white or black.
    _, lightest = picture.convert("L").getextrema()
    assert isinstance(lightest, int)
    assert lightest < 250


def test_an_image_watermark_is_used_when_configured(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (40, 20), (255, 0, 0, 255)).save(logo)
    mark = Watermark(WatermarkOptions(image=str(logo), position="top-left", opacity=1.0))
    _, picture = render(
        tmp_path, flat(400, 300), "fit-400x300-wm.png", media_type="image/png", watermark=mark
    )
    red = picture.convert("RGB").getpixel((30, 20))
    assert red == (255, 0, 0)
    assert changed_share(picture, (200, 150, 400, 300)) == 0
    assert mark.tag != Watermark(WatermarkOptions(text="mediaplane")).tag


def test_a_watermark_on_a_1x1_image_is_refused(tmp_path: Path) -> None:
    mark = Watermark(WatermarkOptions())
    with pytest.raises(WatermarkDoesNotFit) as refused:
        render(tmp_path, flat(1, 1), "fit-800x800-wm.webp", media_type="image/png", watermark=mark)
    assert refused.value.code == "watermark_does_not_fit"


def test_transparency_is_kept_where_the_format_has_it_and_flattened_in_jpeg(
    tmp_path: Path,
) -> None:
    clear = testing.encode(Image.new("RGBA", (100, 100), (0, 0, 0, 0)), "PNG")
    _, webp = render(tmp_path, clear, "fit-50x50.webp", media_type="image/png")
    _, jpeg = render(tmp_path, clear, "fit-50x50.jpeg", media_type="image/png")
    assert webp.mode == "RGBA"
    assert jpeg.mode == "RGB"
    assert jpeg.getpixel((25, 25)) == (255, 255, 255)
