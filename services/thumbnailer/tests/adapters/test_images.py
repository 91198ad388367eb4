"""The Pillow pipeline on files made on the spot: every input format, orientation, colour,
metadata, limits and broken input. Local files only, no servers."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat

from mediaplane.thumbnailer import testing
from mediaplane.thumbnailer.adapters import images
from mediaplane.thumbnailer.adapters.images import (
    EncodedThumbnail,
    SourceImage,
    luminance_histogram,
    render_thumbnails,
)
from mediaplane.thumbnailer.config import OutputOptions
from mediaplane.thumbnailer.domain.errors import CorruptInput, TooLarge, UnsupportedMedia
from mediaplane.thumbnailer.domain.policy import MediaLimits, looks_black
from mediaplane.thumbnailer.domain.sizing import DEFAULT_SIZES

Render = Callable[..., tuple[SourceImage, list[EncodedThumbnail]]]


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """`render(data, media_type, **overrides)`: thumbnails of `data` written to a file."""

    def run(
        data: bytes,
        media_type: str,
        *,
        output: OutputOptions | None = None,
        limits: MediaLimits | None = None,
    ) -> tuple[SourceImage, list[EncodedThumbnail]]:
        path = tmp_path / "source"
        path.write_bytes(data)
        return render_thumbnails(
            path,
            media_type=media_type,
            sizes=DEFAULT_SIZES,
            output=output or OutputOptions(),
            limits=limits or MediaLimits(),
        )

    return run


def opened(thumbnail: EncodedThumbnail) -> Image.Image:
    picture = Image.open(io.BytesIO(thumbnail.data))
    picture.load()
    return picture


def near(pixel: object, expected: tuple[int, int, int], tolerance: int = 24) -> bool:
    assert isinstance(pixel, tuple), pixel
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected, strict=True))


PHOTO = testing.photo(400, 300)  # small: the HEIC encoder is slow to start
FORMATS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "jpeg": (lambda: testing.encode(PHOTO, "JPEG", quality=90), "image/jpeg", "jpeg"),
    "png": (lambda: testing.encode(PHOTO.convert("RGBA"), "PNG"), "image/png", "png"),
    "webp": (lambda: testing.encode(PHOTO, "WEBP", quality=90), "image/webp", "webp"),
    "gif": (lambda: testing.animated_gif(400, 300), "image/gif", "gif"),
    "heic": (lambda: testing.encode(PHOTO, "HEIF", quality=90), "image/heic", "heif"),
    "avif": (lambda: testing.encode(PHOTO, "AVIF", quality=90), "image/avif", "avif"),
    "tiff": (lambda: testing.encode(PHOTO, "TIFF", compression="tiff_lzw"), "image/tiff", "tiff"),
    "bmp": (lambda: testing.encode(PHOTO, "BMP"), "image/bmp", "bmp"),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_supported_format_gives_three_webp_sizes(render: Render, name: str) -> None:
    make, media_type, pillow_format = FORMATS[name]
    source, thumbnails = render(make(), media_type)
    assert source == SourceImage(width=400, height=300, format=pillow_format)
    assert [(t.name, t.width, t.height) for t in thumbnails] == [
        ("small", 160, 120),
        ("medium", 320, 240),
        ("large", 400, 300),  # the source is smaller than 1280: never upscaled
    ]
    for thumbnail in thumbnails:
        picture = opened(thumbnail)
        assert picture.format == "WEBP"
        assert picture.size == (thumbnail.width, thumbnail.height)


def test_a_gif_shows_its_first_frame(render: Render) -> None:
    _, thumbnails = render(testing.animated_gif(200, 100), "image/gif")
    assert near(opened(thumbnails[0]).convert("RGB").getpixel((80, 40)), testing.RED)


def test_transparency_is_kept_in_webp(render: Render) -> None:
    picture = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    picture.paste((*testing.RED, 255), (0, 0, 150, 200))
    _, thumbnails = render(testing.encode(picture, "PNG"), "image/png")
    small = opened(thumbnails[0])
    assert small.mode == "RGBA"
    assert small.getpixel((150, 50)) == (0, 0, 0, 0)  # the right half stays transparent
    assert near(small.getpixel((10, 50)), testing.RED)


@pytest.mark.parametrize("size", [(400, 300), (4000, 3000)])  # the latter decoded at 3/8
def test_an_exif_rotated_jpeg_comes_out_upright(render: Render, size: tuple[int, int]) -> None:
    data = testing.oriented_jpeg(*size)
    assert Image.open(io.BytesIO(data)).size == size[::-1]  # stored on its side
    source, thumbnails = render(data, "image/jpeg")
    assert (source.width, source.height) == size
    for thumbnail in thumbnails:
        picture = opened(thumbnail).convert("RGB")
        assert picture.size == (thumbnail.width, thumbnail.height)
        assert thumbnail.width > thumbnail.height  # landscape, as the camera was held
        assert near(picture.getpixel((picture.width // 2, 2)), testing.RED)  # red on top
        assert near(picture.getpixel((picture.width // 2, picture.height - 3)), testing.BLUE)


def test_thumbnails_carry_no_metadata(render: Render) -> None:
    _, webp = render(testing.oriented_jpeg(400, 300), "image/jpeg")
    _, jpeg = render(
        testing.oriented_jpeg(400, 300), "image/jpeg", output=OutputOptions(format="jpeg")
    )
    for thumbnail in [*webp, *jpeg]:
        picture = opened(thumbnail)
        assert not {"exif", "icc_profile", "xmp"} & set(picture.info)
        assert dict(picture.getexif()) == {}
        assert b"TestCam" not in thumbnail.data


def test_colours_are_converted_to_srgb(render: Render) -> None:
    # (255, 0, 0) under a profile whose red primary is sRGB's blue: it is blue.
    tagged = Image.new("RGB", (64, 64), (255, 0, 0))
    data = testing.encode(tagged, "PNG", icc_profile=testing.swapped_primaries_profile())
    _, thumbnails = render(data, "image/png")
    assert near(opened(thumbnails[0]).convert("RGB").getpixel((32, 32)), (0, 0, 255), 40)


def test_cmyk_becomes_rgb(render: Render) -> None:
    cyan_free = Image.new("CMYK", (100, 100), (0, 255, 255, 0))  # magenta + yellow = red
    _, thumbnails = render(testing.encode(cyan_free, "JPEG"), "image/jpeg")
    picture = opened(thumbnails[0])
    assert picture.mode == "RGB"
    assert near(picture.getpixel((50, 50)), (255, 0, 0), 40)


def test_sixteen_bit_gray_is_scaled_not_clipped(render: Render) -> None:
    gray = Image.new("I;16", (100, 50), 32768)  # half of 65535
    _, thumbnails = render(testing.encode(gray, "PNG"), "image/png")
    assert near(opened(thumbnails[0]).convert("RGB").getpixel((50, 25)), (128, 128, 128), 3)


def test_jpeg_output_flattens_transparency_onto_white(render: Render) -> None:
    clear = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    _, thumbnails = render(
        testing.encode(clear, "PNG"), "image/png", output=OutputOptions(format="jpeg")
    )
    picture = opened(thumbnails[0])
    assert picture.format == "JPEG"
    assert near(picture.getpixel((50, 50)), (255, 255, 255), 2)


@pytest.fixture
def decoded_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size of every picture Pillow decodes (`load`) during the test."""
    sizes: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        result = original(self)
        sizes.append(self.size)
        return result

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


@pytest.mark.parametrize(
    ("stored", "decoded"),
    [
        ((4000, 3000), (1500, 1125)),  # 3/8: a 12 MP photo for a 1280 px thumbnail
        ((4001, 3001), (1501, 1126)),  # libjpeg rounds the scaled size up
        ((3000, 4000), (1125, 1500)),  # portrait
        ((3000, 2250), (1500, 1125)),  # 3/8 would be under 1280 px: 1/2
        ((6000, 4500), (1500, 1125)),  # 1/4
        ((2400, 1800), (2400, 1800)),  # under twice the size: decoded whole
    ],
)
def test_a_big_jpeg_decodes_at_the_smallest_scale_covering_the_largest_size(
    render: Render,
    decoded_sizes: list[tuple[int, int]],
    stored: tuple[int, int],
    decoded: tuple[int, int],
) -> None:
    picture = Image.linear_gradient("L").resize(stored).convert("RGB")
    source, thumbnails = render(testing.encode(picture, "JPEG"), "image/jpeg")
    assert set(decoded_sizes) == {decoded}  # load() is called again by resize: a no-op
    assert (source.width, source.height) == stored
    assert max(thumbnails[-1].width, thumbnails[-1].height) == 1280


def test_without_a_3_8_scaling_libjpeg_a_12_megapixel_jpeg_decodes_at_half_size(
    render: Render, decoded_sizes: list[tuple[int, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "_THREE_EIGHTHS", False)
    picture = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    _, thumbnails = render(testing.encode(picture, "JPEG"), "image/jpeg")
    assert set(decoded_sizes) == {(2000, 1500)}  # Pillow's own draft
    assert (thumbnails[-1].width, thumbnails[-1].height) == (1280, 960)


def test_this_libjpeg_decodes_at_3_8() -> None:
    assert images._THREE_EIGHTHS  # Pillow's wheels bring libjpeg-turbo


def luma_psnr(picture: Image.Image, reference: Image.Image) -> float:
    """Peak signal-to-noise ratio of the luminance in dB: higher is closer, identical is inf."""
    (rms,) = ImageStat.Stat(ImageChops.difference(picture.convert("L"), reference.convert("L"))).rms
    return math.inf if rms == 0 else 20 * math.log10(255 / rms)


@pytest.mark.parametrize(
    ("size", "params"),
    [
        ((4000, 3000), {}),  # 4:2:0, baseline
        ((4001, 2999), {"progressive": True}),
        ((4003, 2997), {"subsampling": 0}),  # 4:4:4: chroma scaled like luma
    ],
)
def test_reduced_decoding_keeps_every_size_close_to_a_full_lanczos_reference(
    render: Render, size: tuple[int, int], params: dict[str, object]
) -> None:
    # The reference: the whole picture decoded, then Lanczos, no encoding loss.
    # Ours measured ~41.5 dB (WebP quality 80 is most of the difference); a
    # decoder scale that did not match the size we set would garble the rows (~12 dB).
    data = testing.encode(testing.photo(*size), "JPEG", quality=90, **params)
    with Image.open(io.BytesIO(data)) as full:
        full.load()
        for thumbnail in render(data, "image/jpeg")[1]:
            reference = full.resize((thumbnail.width, thumbnail.height), Image.Resampling.LANCZOS)
            assert luma_psnr(opened(thumbnail), reference) > 38, thumbnail.name


def test_a_png_declaring_30000_squared_pixels_is_refused_without_decoding(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []

    def must_not_decode(self: ImageFile.ImageFile) -> None:
        loads.append(self)
        raise AssertionError("decoded a decompression bomb")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    bomb = testing.png_bomb(30_000, 30_000)
    assert len(bomb) < 1000
    with pytest.raises(TooLarge) as refused:
        render(bomb, "image/png")
    assert refused.value.code == "too_large"
    assert loads == []


def test_our_pixel_limit_applies_below_pillows_own(render: Render) -> None:
    data = testing.encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(TooLarge, match="100x100 is 10000 pixels"):
        render(data, "image/png", limits=MediaLimits(max_pixels=9_999))


def test_a_truncated_jpeg_is_corrupt(render: Render) -> None:
    data = testing.encode(testing.photo(640, 480), "JPEG")
    with pytest.raises(CorruptInput, match="does not decode"):
        render(data[: len(data) // 2], "image/jpeg")


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"not a picture"])
def test_empty_or_garbage_bytes_of_a_supported_type_are_corrupt(
    render: Render, data: bytes
) -> None:
    with pytest.raises(CorruptInput):
        render(data, "image/png")


def test_formats_outside_the_allow_list_are_unsupported(render: Render) -> None:
    # Pillow could read an icon, but its parser is not let near untrusted bytes.
    icon = testing.encode(Image.new("RGB", (32, 32), testing.RED), "ICO")
    with pytest.raises(UnsupportedMedia):
        render(icon, "image/vnd.microsoft.icon")


def test_black_and_coloured_frames_are_told_apart(tmp_path: Path) -> None:
    black, red = tmp_path / "black.png", tmp_path / "red.png"
    Image.new("RGB", (640, 360), (3, 3, 3)).save(black)
    Image.new("RGB", (640, 360), testing.RED).save(red)
    assert looks_black(luminance_histogram(black))
    assert not looks_black(luminance_histogram(red))
