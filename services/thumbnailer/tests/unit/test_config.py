"""Settings from the environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mediaplane.thumbnailer.config import OutputOptions, ThumbnailerSettings
from mediaplane.thumbnailer.domain.sizing import ThumbnailSize

BASE = {
    "MEDIAPLANE_THUMBNAILER_DATABASE_URL": "postgresql://db/thumbnailer",
    "MEDIAPLANE_S3_ENDPOINT": "http://127.0.0.1:28333",
    "MEDIAPLANE_THUMBNAILER_S3_ACCESS_KEY": "key",
    "MEDIAPLANE_THUMBNAILER_S3_SECRET_KEY": "secret",
    "MEDIAPLANE_S3_REGION": "us-east-1",
}


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    settings = ThumbnailerSettings.from_env()
    assert settings.bucket == "thumbnails"
    assert [(s.name, s.longest) for s in settings.sizes] == [
        ("small", 160),
        ("medium", 320),
        ("large", 1280),
    ]
    assert (settings.output.format, settings.output.extension) == ("webp", "webp")
    assert settings.limits.max_pixels == 50_000_000
    assert settings.ops_port == 9131


def test_everything_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **BASE,
        "MEDIAPLANE_THUMBNAILS_BUCKET": "thumbs",
        "MEDIAPLANE_THUMBNAILER_SIZES": "icon:64,large:2048",
        "MEDIAPLANE_THUMBNAILER_FORMAT": "JPG",
        "MEDIAPLANE_THUMBNAILER_QUALITY": "70",
        "MEDIAPLANE_THUMBNAILER_MAX_PIXELS": "1000",
        "MEDIAPLANE_THUMBNAILER_MAX_FILE_SIZE": "2000",
        "MEDIAPLANE_THUMBNAILER_JOB_TIMEOUT": "7.5",
        "MEDIAPLANE_THUMBNAILER_CONCURRENCY": "3",
        "MEDIAPLANE_THUMBNAILER_OPS_PORT": "9999",
    }.items():
        monkeypatch.setenv(name, value)
    settings = ThumbnailerSettings.from_env()
    assert settings.bucket == "thumbs"
    assert [s.name for s in settings.sizes] == ["icon", "large"]
    assert settings.output == OutputOptions(format="jpeg", quality=70)
    assert (settings.output.extension, settings.output.content_type) == ("jpg", "image/jpeg")
    assert (
        settings.limits.max_pixels,
        settings.limits.max_file_size,
        settings.limits.job_timeout,
    ) == (1000, 2000, 7.5)
    assert (settings.concurrency, settings.ops_port) == (3, 9999)


def test_an_unknown_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**BASE, "MEDIAPLANE_THUMBNAILER_FORMAT": "gif"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="webp or jpeg"):
        ThumbnailerSettings.from_env()


def test_sizes_given_directly_are_checked_and_ordered(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    base = ThumbnailerSettings.from_env()
    unordered = (ThumbnailSize("large", 1280), ThumbnailSize("small", 160))
    assert [s.name for s in replace(base, sizes=unordered).sizes] == ["small", "large"]
    with pytest.raises(ValueError, match="at least one"):
        replace(base, sizes=())
