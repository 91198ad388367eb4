"""thumbnailer (stream `thumbnail-<file_id>`)."""

from __future__ import annotations

import uuid

import msgspec

from mediaplane.contracts.envelope import Bytes, Event


class Thumbnail(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    width: int
    height: int
    format: str
    key: str
    size: Bytes


class ThumbnailSource(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    format: str
    page_count: int | None = None


class ThumbnailGenerated(Event, tag="thumbnail.generated.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    bucket: str
    thumbnails: list[Thumbnail]
    source: ThumbnailSource


class ThumbnailFailed(Event, tag="thumbnail.failed.v1", frozen=True, kw_only=True):
    """`code`: corrupt_input, too_large, unsupported_media, source_missing, timeout, internal."""

    file_id: uuid.UUID
    code: str
    detail: str
