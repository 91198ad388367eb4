"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from mediaplane.bus import BusSettings
from mediaplane.servicekit import children
from mediaplane.storage import StorageSettings
from mediaplane.thumbnailer.domain.policy import MediaLimits
from mediaplane.thumbnailer.domain.sizing import (
    DEFAULT_SIZES,
    ThumbnailSize,
    check_sizes,
    parse_sizes,
)

SERVICE = "thumbnailer"
OutputFormat = Literal["webp", "jpeg"]


@dataclass(frozen=True, kw_only=True)
class OutputOptions:
    """How thumbnails are encoded. WebP by default; JPEG for clients that cannot show WebP."""

    format: OutputFormat = "webp"
    quality: int = 80
    # libwebp effort 0..6: above 2 the encode costs 2-8x more for ~1-3% fewer bytes.
    webp_method: int = 2

    def __post_init__(self) -> None:
        if self.format not in ("webp", "jpeg"):
            raise ValueError(f"thumbnail format must be webp or jpeg, not {self.format!r}")
        if not 1 <= self.quality <= 100 or not 0 <= self.webp_method <= 6:
            raise ValueError("quality must be 1..100 and webp_method 0..6")

    @property
    def extension(self) -> str:
        return "webp" if self.format == "webp" else "jpg"

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"


@dataclass(frozen=True, kw_only=True)
class ThumbnailerSettings:
    database_url: str
    bus: BusSettings
    storage: StorageSettings
    bucket: str = "thumbnails"
    # Where sources may come from: a file.verified naming another bucket is refused.
    originals_bucket: str = "originals"
    sizes: tuple[ThumbnailSize, ...] = DEFAULT_SIZES
    output: OutputOptions = field(default_factory=OutputOptions)
    limits: MediaLimits = field(default_factory=MediaLimits)
    # Jobs handled at once (one fetch of the consumer), and threads for Pillow.
    concurrency: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_deliver: int = 4
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    # Where sources are downloaded to (None: the system's temp dir, i.e. $TMPDIR).
    work_dir: str | None = None
    http_host: str = "127.0.0.1"
    ops_port: int = 9131

    @property
    def tool_limits(self) -> children.Limits:
        """Each ffprobe, ffmpeg and PDF child (the job timeout bounds their wall time)."""
        return children.Limits(
            cpu_seconds=self.limits.tool_cpu_seconds,
            memory_bytes=self.limits.tool_memory_mb * 1024 * 1024,
        )

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.max_deliver < 1:
            raise ValueError("concurrency and max_deliver must be >= 1")
        # Non-empty, unique names, ascending: whichever way the sizes were given.
        object.__setattr__(self, "sizes", check_sizes(self.sizes))

    @classmethod
    def from_env(cls) -> ThumbnailerSettings:
        env = os.environ
        defaults = MediaLimits()
        output_defaults = OutputOptions()
        sizes = env.get("MEDIAPLANE_THUMBNAILER_SIZES")
        return cls(
            database_url=env["MEDIAPLANE_THUMBNAILER_DATABASE_URL"],
            bus=BusSettings.from_env(service="thumbnailer"),
            storage=StorageSettings.from_env(),
            bucket=env.get("MEDIAPLANE_THUMBNAILS_BUCKET", "thumbnails"),
            originals_bucket=env.get("MEDIAPLANE_ORIGINALS_BUCKET", "originals"),
            sizes=parse_sizes(sizes) if sizes else DEFAULT_SIZES,
            output=OutputOptions(
                format=_output_format(env.get("MEDIAPLANE_THUMBNAILER_FORMAT", "webp")),
                quality=int(env.get("MEDIAPLANE_THUMBNAILER_QUALITY", output_defaults.quality)),
                webp_method=int(
                    env.get("MEDIAPLANE_THUMBNAILER_WEBP_METHOD", output_defaults.webp_method)
                ),
            ),
            limits=MediaLimits(
                max_pixels=int(env.get("MEDIAPLANE_THUMBNAILER_MAX_PIXELS", defaults.max_pixels)),
                max_file_size=int(
                    env.get("MEDIAPLANE_THUMBNAILER_MAX_FILE_SIZE", defaults.max_file_size)
                ),
                job_timeout=float(
                    env.get("MEDIAPLANE_THUMBNAILER_JOB_TIMEOUT", defaults.job_timeout)
                ),
                tool_cpu_seconds=float(
                    env.get("MEDIAPLANE_THUMBNAILER_TOOL_CPU_SECONDS", defaults.tool_cpu_seconds)
                ),
                tool_memory_mb=int(
                    env.get("MEDIAPLANE_THUMBNAILER_TOOL_MEMORY_MB", defaults.tool_memory_mb)
                ),
            ),
            concurrency=int(env.get("MEDIAPLANE_THUMBNAILER_CONCURRENCY", os.cpu_count() or 1)),
            max_deliver=int(env.get("MEDIAPLANE_THUMBNAILER_MAX_DELIVER", 4)),
            ffmpeg=env.get("MEDIAPLANE_FFMPEG", "ffmpeg"),
            ffprobe=env.get("MEDIAPLANE_FFPROBE", "ffprobe"),
            work_dir=env.get("MEDIAPLANE_THUMBNAILER_WORK_DIR") or None,
            http_host=env.get("MEDIAPLANE_THUMBNAILER_HOST", "127.0.0.1"),
            ops_port=int(env.get("MEDIAPLANE_THUMBNAILER_OPS_PORT", 9131)),
        )


def _output_format(value: str) -> OutputFormat:
    lowered = value.strip().lower()
    if lowered == "webp":
        return "webp"
    if lowered in ("jpeg", "jpg"):
        return "jpeg"
    raise ValueError(f"MEDIAPLANE_THUMBNAILER_FORMAT must be webp or jpeg, not {value!r}")
