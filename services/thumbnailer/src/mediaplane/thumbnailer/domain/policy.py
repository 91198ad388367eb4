"""What the thumbnailer accepts and when it refuses, decided from facts known before decoding."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mediaplane.thumbnailer.domain.errors import (
    CorruptInput,
    MediaError,
    TooLarge,
    UnsupportedMedia,
)

MiB = 1024 * 1024
Pipeline = Literal["image", "video", "pdf"]

# Media types (as the upload verifier sniffs them) of formats the image pipeline decodes.
# A file of one of these types that Pillow cannot identify is corrupt, anything else
# that it cannot identify is simply not supported.
IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/pjpeg",
        "image/png",
        "image/apng",
        "image/webp",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/heic-sequence",
        "image/heif-sequence",
        "image/avif",
        "image/tiff",
        "image/bmp",
        "image/x-bmp",
        "image/x-ms-bmp",
    }
)


@dataclass(frozen=True, kw_only=True)
class MediaLimits:
    """Refuse work that would be too big before spending memory or CPU on it."""

    max_pixels: int = 50_000_000
    max_file_size: int = 2048 * MiB
    job_timeout: float = 120.0
    # Each ffprobe/ffmpeg/PDF child: CPU seconds and address space (a poster takes well
    # under a CPU-second at 1080p; ffmpeg reserves ~1 GiB of address space for threads).
    tool_cpu_seconds: float = 60.0
    tool_memory_mb: int = 4096

    def __post_init__(self) -> None:
        if min(self.max_pixels, self.max_file_size, self.job_timeout) <= 0:
            raise ValueError("limits must be positive")
        if self.tool_cpu_seconds <= 0 or self.tool_memory_mb <= 0:
            raise ValueError("tool limits must be positive")


def pipeline_for(kind: str) -> Pipeline | None:
    """Which pipeline renders a verified file of `kind`; None: not the thumbnailer's business."""
    if kind == "image":
        return "image"
    if kind == "video":
        return "video"
    if kind == "pdf":
        return "pdf"
    return None


def check_file_size(size: int, limits: MediaLimits) -> None:
    """Before downloading: empty files are corrupt, huge ones too large."""
    if size == 0:
        raise CorruptInput("the file is empty")
    if size > limits.max_file_size:
        raise TooLarge(f"the file has {size} bytes, the limit is {limits.max_file_size}")


def check_pixels(width: int, height: int, limits: MediaLimits) -> None:
    """From a header, before any pixel is decoded: decompression bombs stop here."""
    if width < 1 or height < 1:
        raise CorruptInput(f"the picture claims to be {width}x{height}")
    if width * height > limits.max_pixels:
        raise TooLarge(
            f"{width}x{height} is {width * height} pixels, the limit is {limits.max_pixels}"
        )


def unidentified_image(media_type: str, detail: str) -> MediaError:
    """Pillow found no allowed format in the bytes: corrupt if the type says it should have."""
    if media_type.lower() in IMAGE_TYPES:
        return CorruptInput(f"not a decodable {media_type}: {detail}")
    return UnsupportedMedia(f"{media_type} is not a supported image format")


def looks_black(histogram: Sequence[int], *, threshold: int = 32, share: float = 0.98) -> bool:
    """Whether a frame (256-bin luminance histogram) is nearly all black, like fades and slates.

    The same test as ffmpeg's `blackframe` filter: at least `share` of the
    pixels darker than `threshold`.
    """
    total = sum(histogram)
    if total == 0:
        return True
    return sum(histogram[:threshold]) >= share * total


def poster_positions(duration: float | None) -> list[float]:
    """Where to look for a video's poster frame, in order: about 10% in, then later.

    Later candidates are for intros that are black at 10%; a stream without a
    known duration is read from the start.
    """
    if duration is None or duration <= 0:
        return [0.0]
    return [round(duration * share, 3) for share in (0.10, 0.25, 0.50)]


# ISO-BMFF brands of still pictures (HEIF/HEIC, AVIF) -> their media type.
_STILL_IMAGE_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"mif2": "image/heif",
    b"avif": "image/avif",
    b"avis": "image/avif",
}


def still_image_type(head: bytes) -> str | None:
    """The media type of a HEIC/AVIF photo from its first bytes, None for anything else.

    Photos in HEIF containers are ISO-BMFF files like MP4, and generic
    sniffers (the upload verifier's among them) label them `video/mp4`. The
    `ftyp` box's brands tell them apart: video files do not declare the
    still-image brands below.
    """
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    end = min(int.from_bytes(head[0:4], "big"), len(head))
    major, compatible = head[8:12], head[16:end]
    brands = [major] + [compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)]
    for brand in brands:
        if brand in _STILL_IMAGE_BRANDS:
            return _STILL_IMAGE_BRANDS[brand]
    return None
