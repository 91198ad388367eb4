"""Permanent failures of an input: recorded as `thumbnail.failed.v1` with a stable code.

These are about the file, not about the platform: retrying cannot help, so
the job records them and the message is acknowledged. Transient failures
(S3, Postgres, NATS) are ordinary exceptions that make the bus retry.
"""

from __future__ import annotations

from mediaplane.domain import DomainError


class MediaError(DomainError):
    """The source cannot be thumbnailed; `code` goes into `thumbnail.failed.v1`."""

    code = "internal"

    def __init__(self, detail: str) -> None:
        super().__init__(detail[:1000])


class CorruptInput(MediaError):
    """The bytes claim a supported format but do not decode (truncated, empty, garbage)."""

    code = "corrupt_input"


class TooLarge(MediaError):
    """Over a configured limit (file size, pixels); refused before decoding."""

    code = "too_large"


class UnsupportedMedia(MediaError):
    """A format (or content, e.g. a video without pictures) the thumbnailer does not render."""

    code = "unsupported_media"


class SourceMissing(MediaError):
    """The original is gone from storage (deleted after it was verified)."""

    code = "source_missing"


class OriginalChanged(MediaError):
    """The bytes read are not the ones the verifier approved (their SHA-256 differs):
    nothing is made from them."""

    code = "original_changed"


class JobTimeout(MediaError):
    """The job ran past the per-job timeout on its last attempt."""

    code = "timeout"


class ContainerNotAllowed(MediaError):
    """Not a media container the tools may read: a playlist or script (which names other
    files the tools would open), or a type without a trusted demuxer."""

    code = "container_refused"


class ResourceLimit(MediaError):
    """ffprobe, ffmpeg or the PDF renderer hit its CPU-time or memory limit."""

    code = "resource_limit"


class WatermarkDoesNotFit(MediaError):
    """A variant asked for the watermark is too small to carry it legibly."""

    code = "watermark_does_not_fit"
