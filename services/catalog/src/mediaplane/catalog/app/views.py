"""What the query API answers (msgspec Structs, rendered as JSON and documented in OpenAPI)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from mediaplane.contracts import AudioMetadata, ImageMetadata, PdfMetadata, VideoMetadata


class FileSummary(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    filename: str
    size: int
    content_type: str
    media_type: str | None
    kind: str | None
    status: str
    rejection_code: str | None
    transcode_status: str | None
    transcode_error: str | None
    thumbnail_status: str | None
    thumbnail_error: str | None
    # Percent done while `transcode_status` is `running` (and the transcoder reported).
    transcode_progress: float | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    # Set while a moderator has the file taken down: why (shown to its owner).
    taken_down_reason: str | None = None


class FilePage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[FileSummary]
    next_cursor: str | None


class Link(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    expires_at: datetime


class ThumbnailView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    format: str
    size: int
    url: str


class RenditionView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    bandwidth: int
    average_bandwidth: int
    codecs: str
    frame_rate: float
    segment_count: int
    playlist_url: str


class FileMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """What the metadata extractor found: one section, of `kind` (`pdf` for PDFs).

    `status` is `extracted`, or `failed` with `error` (a metadata.failed code).
    Image `location` is present only if the owner uploaded with `keep_location`.
    """

    status: str
    error: str | None = None
    kind: str | None = None
    image: ImageMetadata | None = None
    video: VideoMetadata | None = None
    audio: AudioMetadata | None = None
    pdf: PdfMetadata | None = None


class Mp4View(msgspec.Struct, frozen=True, kw_only=True):
    """The progressive MP4 fallback (faststart, at most 720p): plays and seeks by Range."""

    url: str
    expires_at: datetime
    width: int
    height: int
    size: int


class LiveView(msgspec.Struct, frozen=True, kw_only=True):
    """A chunked ladder still being encoded but already playable from the start."""

    ready: float  # source seconds playable from the start
    chunks_done: int
    chunks_planned: int
    ended: bool  # the playlists are complete (VOD); `transcode.completed` is on its way


class FileDetail(msgspec.Struct, frozen=True, kw_only=True):
    file: FileSummary
    sha256: str | None
    duration: float | None
    purged: bool
    # None until the extractor has handled the file (or for kinds it does not read).
    metadata: FileMetadata | None = None
    download: Link | None
    thumbnails: list[ThumbnailView]
    renditions: list[RenditionView]
    # Playlist URLs carry a playback token (`?pt=`) good for this file until `hls_expires_at`.
    hls_url: str | None
    hls_expires_at: datetime | None
    mp4: Mp4View | None = None  # videos
    # Audio: `{"version": 1, "duration": s, "peaks": [0..1, ...]}`, presigned like `download`.
    waveform_url: str | None = None
    # Set while a long video is still transcoding but playable: `hls_url` then serves EVENT
    # playlists that grow (and `renditions` is empty until `transcode.completed`).
    live: LiveView | None = None


class HistoryEvent(msgspec.Struct, frozen=True, kw_only=True):
    event_id: uuid.UUID
    type: str
    known: bool
    occurred_at: datetime
    stream_id: str
    data: dict[str, Any]


class History(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    events: list[HistoryEvent]


class TagView(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    files: int


class TagPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[TagView]
    next_marker: str | None


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    filename: str
    size: int
    mode: str
    status: str
    expires_at: datetime
    opened_at: datetime
    updated_at: datetime


class SessionPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[SessionView]
    next_cursor: str | None
