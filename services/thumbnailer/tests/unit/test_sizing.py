"""Thumbnail sizes: fitting the longest side, never upscaling, parsing the configuration."""

from __future__ import annotations

import pytest

from mediaplane.thumbnailer.domain.sizing import (
    DEFAULT_SIZES,
    ThumbnailSize,
    display_size,
    fit,
    parse_sizes,
)


@pytest.mark.parametrize(
    ("width", "height", "longest", "expected"),
    [
        (4000, 3000, 1280, (1280, 960)),  # landscape: width is the longest side
        (3000, 4000, 320, (240, 320)),  # portrait: height is
        (1000, 1000, 160, (160, 160)),
        (200, 100, 1280, (200, 100)),  # smaller than the bound: never upscaled
        (1280, 720, 1280, (1280, 720)),  # exactly the bound
        (10000, 3, 160, (160, 1)),  # a sliver keeps at least one pixel
        (4001, 3001, 1280, (1280, 960)),  # rounded, not truncated
    ],
)
def test_fit_bounds_the_longest_side(
    width: int, height: int, longest: int, expected: tuple[int, int]
) -> None:
    assert fit(width, height, longest) == expected


def test_fit_refuses_an_empty_picture() -> None:
    with pytest.raises(ValueError, match="0x10"):
        fit(0, 10, 160)


def test_default_sizes_are_small_medium_large() -> None:
    assert [(s.name, s.longest) for s in DEFAULT_SIZES] == [
        ("small", 160),
        ("medium", 320),
        ("large", 1280),
    ]


def test_parse_sizes_sorts_by_size() -> None:
    assert parse_sizes(" large:1280, tiny:64 ,medium:320") == (
        ThumbnailSize("tiny", 64),
        ThumbnailSize("medium", 320),
        ThumbnailSize("large", 1280),
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("small", "NAME:PIXELS"),
        ("small:abc", "NAME:PIXELS"),
        ("small:160,small:320", "repeat"),
        ("small:0", "1..8192"),
        ("../etc:160", "plain ASCII word"),  # names become object keys
    ],
)
def test_parse_sizes_refuses_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_sizes(spec)


@pytest.mark.parametrize(
    ("aspect", "rotation", "expected"),
    [
        ("1:1", None, (1920, 1080)),
        (None, None, (1920, 1080)),
        ("0:1", None, (1920, 1080)),  # unknown: square pixels
        ("4:3", None, (2560, 1080)),  # anamorphic: stretched to its display aspect
        ("1:1", -90.0, (1080, 1920)),  # a phone held upright
        ("1:1", 90.0, (1080, 1920)),
        ("1:1", 180.0, (1920, 1080)),
        ("4:3", 270.0, (1080, 2560)),
    ],
)
def test_display_size_of_video_frames(
    aspect: str | None, rotation: float | None, expected: tuple[int, int]
) -> None:
    assert display_size(1920, 1080, aspect, rotation) == expected
