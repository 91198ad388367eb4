"""thumbnailer's metadata extractor: what a verified file is (stream `metadata-<file_id>`).

One event per file with one typed section for its kind. A separate event
family (not a field of `thumbnail.generated`) because audio gets metadata and
no thumbnail, a file can fail one and not the other, and readers of metadata
need not know how thumbnails are made.

Location (`ImageMetadata.location`) is present only when the owner opted in
at upload (`keep_location`); otherwise GPS tags are dropped by the extractor
before any event is written, and the immutable log never holds them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mediaplane.contracts.envelope import Event
from mediaplane.contracts.files import FileKind

Seconds = Annotated[float, msgspec.Meta(ge=0)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class GeoLocation(msgspec.Struct, frozen=True, kw_only=True):
    """WGS 84 degrees (north and east positive); altitude in metres, when recorded."""

    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    altitude: float | None = None


class ImageMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """`width`/`height` as a viewer sees the picture (after the EXIF orientation, 1-8)."""

    width: Positive
    height: Positive
    orientation: Annotated[int, msgspec.Meta(ge=1, le=8)] = 1
    format: str
    camera_make: str | None = None
    camera_model: str | None = None
    lens: str | None = None
    # DateTimeOriginal with its OffsetTimeOriginal; read as UTC when the camera gave no offset.
    taken_at: datetime | None = None
    location: GeoLocation | None = None


class VideoMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """The first video stream (and first audio stream, if any). `width`/`height` as stored;
    `rotation` the display rotation in degrees clockwise (0, 90, 180, 270).
    `hdr`: `pq` (SMPTE ST 2084, HDR10/Dolby Vision) or `hlg` (ARIB STD-B67), else None."""

    container: str
    duration: Seconds | None = None
    bitrate: int | None = None
    width: Positive
    height: Positive
    fps: float | None = None
    rotation: int = 0
    video_codec: str
    video_profile: str | None = None
    pixel_format: str | None = None
    color_transfer: str | None = None
    color_primaries: str | None = None
    hdr: str | None = None
    audio_codec: str | None = None


class AudioMetadata(msgspec.Struct, frozen=True, kw_only=True):
    container: str
    codec: str
    channels: Positive
    sample_rate: Positive
    duration: Seconds | None = None
    bitrate: int | None = None


class PdfMetadata(msgspec.Struct, frozen=True, kw_only=True):
    page_count: Positive
    title: str | None = None


class MetadataExtracted(Event, tag="metadata.extracted.v1", frozen=True, kw_only=True):
    """Exactly the section of `kind` is set (`pdf` for PDFs)."""

    file_id: uuid.UUID
    kind: FileKind
    image: ImageMetadata | None = None
    video: VideoMetadata | None = None
    audio: AudioMetadata | None = None
    pdf: PdfMetadata | None = None


class MetadataFailed(Event, tag="metadata.failed.v1", frozen=True, kw_only=True):
    """`code`: corrupt_input, too_large, unsupported_media, container_refused,
    source_missing, original_changed, resource_limit, timeout, internal."""

    file_id: uuid.UUID
    code: str
    detail: str
