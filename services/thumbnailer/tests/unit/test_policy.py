"""What is refused before decoding, how unidentified bytes are classified, black frames."""

from __future__ import annotations

import pytest

from mediaplane.thumbnailer.domain.errors import CorruptInput, TooLarge, UnsupportedMedia
from mediaplane.thumbnailer.domain.policy import (
    MediaLimits,
    check_file_size,
    check_pixels,
    looks_black,
    pipeline_for,
    poster_positions,
    still_image_type,
    unidentified_image,
)

LIMITS = MediaLimits(max_pixels=50_000_000, max_file_size=1000)


@pytest.mark.parametrize(
    ("kind", "pipeline"),
    [("image", "image"), ("video", "video"), ("pdf", "pdf"), ("audio", None), ("other", None)],
)
def test_only_images_videos_and_pdfs_get_a_pipeline(kind: str, pipeline: str | None) -> None:
    assert pipeline_for(kind) == pipeline


def test_an_empty_file_is_corrupt() -> None:
    with pytest.raises(CorruptInput, match="empty"):
        check_file_size(0, LIMITS)


def test_a_file_over_the_size_limit_is_too_large() -> None:
    check_file_size(1000, LIMITS)
    with pytest.raises(TooLarge, match="1001 bytes"):
        check_file_size(1001, LIMITS)


def test_pixels_are_limited_by_their_product() -> None:
    check_pixels(10_000, 5_000, LIMITS)  # exactly 50 MP
    with pytest.raises(TooLarge, match="30000x30000"):
        check_pixels(30_000, 30_000, LIMITS)
    with pytest.raises(CorruptInput):
        check_pixels(0, 100, LIMITS)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MediaLimits(job_timeout=0)


def test_unidentified_bytes_of_a_supported_type_are_corrupt() -> None:
    error = unidentified_image("image/JPEG", "no format")
    assert isinstance(error, CorruptInput)
    assert error.code == "corrupt_input"


def test_unidentified_bytes_of_another_type_are_unsupported() -> None:
    error = unidentified_image("image/svg+xml", "no format")
    assert isinstance(error, UnsupportedMedia)
    assert error.code == "unsupported_media"


def test_a_frame_is_black_when_nearly_every_pixel_is_dark() -> None:
    black = [0] * 256
    black[5] = 990
    black[200] = 10  # a few bright pixels (a logo, noise) keep it black
    assert looks_black(black)
    dark_scene = [0] * 256
    dark_scene[5] = 900
    dark_scene[60] = 100
    assert not looks_black(dark_scene)
    assert looks_black([0] * 256)  # nothing decoded: not a usable poster


def test_poster_positions_start_at_ten_percent() -> None:
    assert poster_positions(60.0) == [6.0, 15.0, 30.0]
    assert poster_positions(None) == [0.0]
    assert poster_positions(0.0) == [0.0]


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x01\x00meta"


def test_heic_and_avif_photos_are_told_from_mp4_video() -> None:
    assert still_image_type(ftyp(b"heic", b"mif1", b"heic", b"miaf")) == "image/heic"
    assert still_image_type(ftyp(b"avif", b"avif", b"mif1", b"miaf")) == "image/avif"
    assert still_image_type(ftyp(b"mif1", b"heic")) == "image/heif"  # the major brand first
    assert still_image_type(ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41")) is None
    assert still_image_type(ftyp(b"qt  ", b"qt  ")) is None
    assert still_image_type(b"\xff\xd8\xff\xe0" + b"\x00" * 40) is None
    assert still_image_type(b"") is None
