"""What the APIs answer, as typed msgspec Structs.

Unknown fields are ignored, so a newer server with more fields does not break
an older client; fields a server may omit have defaults.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

# --- upload-gateway -----------------------------------------------------------------------------


class PresignedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request to send straight to object storage: method, URL and the headers it was signed
    with (a SHA-256 checksum header among them when one was signed in)."""

    method: str
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    expires_at: datetime


class PartUrl(PresignedRequest, frozen=True, kw_only=True):
    number: int


class StoredPart(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    etag: str
    size: int | None = None


class UploadSession(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    status: str
    mode: str
    filename: str
    content_type: str
    size: int
    sha256: str | None = None
    part_size: int
    part_count: int
    expires_at: datetime
    tags: list[str] = msgspec.field(default_factory=list)
    upload: PresignedRequest | None = None


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    status: str
    size: int
    etag: str


class TagResult(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    created: bool


class FileTags(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    tags: list[str]


# --- catalog ------------------------------------------------------------------------------------


class FileSummary(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    filename: str
    size: int
    content_type: str
    media_type: str | None = None
    kind: str | None = None
    status: str
    rejection_code: str | None = None
    transcode_status: str | None = None
    transcode_error: str | None = None
    thumbnail_status: str | None = None
    thumbnail_error: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class FilePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[FileSummary]
    next_cursor: str | None = None


class Link(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    expires_at: datetime


class Thumbnail(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    format: str
    size: int
    url: str


class Rendition(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    bandwidth: int
    codecs: str
    playlist_url: str


class FileDetail(msgspec.Struct, frozen=True, kw_only=True):
    file: FileSummary
    sha256: str | None = None
    duration: float | None = None
    purged: bool = False
    download: Link | None = None
    thumbnails: list[Thumbnail] = msgspec.field(default_factory=list)
    renditions: list[Rendition] = msgspec.field(default_factory=list)
    # Carries a playback token (`?pt=`) for this file, good until `hls_expires_at`.
    hls_url: str | None = None
    hls_expires_at: datetime | None = None


class TagView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    files: int


class TagPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[TagView]
    next_marker: str | None = None


class UploadSummary(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    filename: str
    size: int
    mode: str
    status: str
    expires_at: datetime
    opened_at: datetime
    updated_at: datetime


class UploadPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[UploadSummary]
    next_cursor: str | None = None


class FileChange(msgspec.Struct, frozen=True, kw_only=True):
    """`event: file.changed` of the live stream."""

    file_id: uuid.UUID
    owner: str
    status: str
    transcode_status: str | None = None
    thumbnail_status: str | None = None
    updated_at: str


class Overflow(msgspec.Struct, frozen=True, kw_only=True):
    """Changes may have been missed (the server dropped some, or the stream reconnected):
    re-read the file list to resynchronize."""
