"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mediaplane.bus import BusSettings
from mediaplane.servicekit import children
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.storage import StorageSettings
from mediaplane.thumbnailer.domain.policy import MediaLimits
from mediaplane.thumbnailer.domain.sizing import (
    DEFAULT_SIZES,
    ThumbnailSize,
    check_sizes,
    parse_sizes,
)
from mediaplane.thumbnailer.domain.variant_spec import VariantSpec, parse_presets

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


WatermarkPosition = Literal["top-left", "top-right", "bottom-left", "bottom-right", "center"]
WATERMARK_POSITIONS: tuple[WatermarkPosition, ...] = (
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
    "center",
)
DEFAULT_PRESETS = (
    "small=fit-320x320.webp,medium=fit-800x800.webp,large=fit-1600x1600.webp,"
    "card=fill-400x300-smart.webp,square=fill-256x256-smart.webp,poster=fit-1280x720.jpeg"
)
DEFAULT_MAX_VARIANT_PIXELS = 4096 * 4096


@dataclass(frozen=True, kw_only=True)
class WatermarkOptions:
    """`image` (a PNG, alpha kept) or else `text`; `scale` is its width over the variant's."""

    image: str | None = None
    text: str = "mediaplane"
    position: WatermarkPosition = "bottom-right"
    opacity: float = 0.5
    scale: float = 0.25
    margin: float = 0.03  # of the variant's shorter side

    def __post_init__(self) -> None:
        if self.position not in WATERMARK_POSITIONS:
            raise ValueError(f"watermark position must be one of {', '.join(WATERMARK_POSITIONS)}")
        if not 0 < self.opacity <= 1 or not 0 < self.scale <= 1 or not 0 <= self.margin < 0.5:
            raise ValueError("watermark opacity and scale must be in (0, 1], margin in [0, 0.5)")
        if self.image is None and not self.text.strip():
            raise ValueError("a watermark needs an image or a text")


@dataclass(frozen=True, kw_only=True)
class VariantSettings:
    """On-demand variants: the bucket, what may be asked for, and how often."""

    bucket: str = "variants"
    presets: Mapping[str, VariantSpec] = field(
        default_factory=lambda: parse_presets(
            DEFAULT_PRESETS, max_pixels=DEFAULT_MAX_VARIANT_PIXELS
        )
    )
    max_pixels: int = DEFAULT_MAX_VARIANT_PIXELS
    # Signs specs that are not presets (HMAC-SHA256); None: presets only.
    secret: str | None = field(default=None, repr=False)
    # Generations (not cached answers) per owner.
    rate: RateLimit = field(default_factory=lambda: RateLimit(per_second=2.0, burst=20))
    # Presigned variant URLs are signed as of the start of the UTC day and live this
    # long, so one URL serves a whole day and browsers cache it.
    url_days: int = 7
    watermark: WatermarkOptions = field(default_factory=WatermarkOptions)
    webp_method: int = 2
    avif_speed: int = 8

    def __post_init__(self) -> None:
        if self.max_pixels < 1 or not 2 <= self.url_days <= 7:
            raise ValueError("variant max pixels must be >= 1 and URL days 2..7 (S3's limit)")
        if not 0 <= self.webp_method <= 6 or not 0 <= self.avif_speed <= 10:
            raise ValueError("webp_method must be 0..6 and avif_speed 0..10")
        for name, spec in self.presets.items():
            if spec.pixels > self.max_pixels:
                raise ValueError(f"variant preset {name!r} is over the pixel cap")

    @classmethod
    def from_env(cls) -> VariantSettings:
        env = os.environ
        max_pixels = int(
            env.get("MEDIAPLANE_THUMBNAILER_VARIANT_MAX_PIXELS", DEFAULT_MAX_VARIANT_PIXELS)
        )
        image = env.get("MEDIAPLANE_THUMBNAILER_WATERMARK_IMAGE") or None
        position = env.get("MEDIAPLANE_THUMBNAILER_WATERMARK_POSITION", "bottom-right")
        if position not in WATERMARK_POSITIONS:
            raise ValueError(f"MEDIAPLANE_THUMBNAILER_WATERMARK_POSITION {position!r} is unknown")
        return cls(
            bucket=env.get("MEDIAPLANE_VARIANTS_BUCKET", "variants"),
            presets=parse_presets(
                env.get("MEDIAPLANE_THUMBNAILER_VARIANT_PRESETS", DEFAULT_PRESETS),
                max_pixels=max_pixels,
            ),
            max_pixels=max_pixels,
            secret=env.get("MEDIAPLANE_THUMBNAILER_VARIANT_SECRET") or None,
            rate=RateLimit(
                per_second=float(env.get("MEDIAPLANE_THUMBNAILER_VARIANT_RATE_PER_SECOND", 2.0)),
                burst=int(env.get("MEDIAPLANE_THUMBNAILER_VARIANT_RATE_BURST", 20)),
            ),
            watermark=WatermarkOptions(
                image=image,
                text=env.get("MEDIAPLANE_THUMBNAILER_WATERMARK_TEXT", "mediaplane"),
                position=position,  # checked above
                opacity=float(env.get("MEDIAPLANE_THUMBNAILER_WATERMARK_OPACITY", 0.5)),
                scale=float(env.get("MEDIAPLANE_THUMBNAILER_WATERMARK_SCALE", 0.25)),
            ),
        )


def _auth_from_env() -> AuthSettings | None:
    """The API's token settings; None when none are set (only the api role needs them)."""
    env = os.environ
    if not (env.get("MEDIAPLANE_JWT_SECRET") or env.get("MEDIAPLANE_JWKS_URL")):
        return None
    return AuthSettings.from_env()


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
    # The variants API (the `api` role).
    http_port: int = 8084
    auth: AuthSettings | None = None
    rate_limit: RateLimit = field(default_factory=RateLimit)
    variants: VariantSettings = field(default_factory=VariantSettings)

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
            storage=StorageSettings.from_env(service="thumbnailer"),
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
            http_port=int(env.get("MEDIAPLANE_THUMBNAILER_PORT", 8084)),
            auth=_auth_from_env(),
            rate_limit=RateLimit.from_env(),
            variants=VariantSettings.from_env(),
        )


def _output_format(value: str) -> OutputFormat:
    lowered = value.strip().lower()
    if lowered == "webp":
        return "webp"
    if lowered in ("jpeg", "jpg"):
        return "jpeg"
    raise ValueError(f"MEDIAPLANE_THUMBNAILER_FORMAT must be webp or jpeg, not {value!r}")
