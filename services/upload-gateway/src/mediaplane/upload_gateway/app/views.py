"""What the application returns to the API: plain, serializable results."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class PresignedUrl(msgspec.Struct, frozen=True, kw_only=True):
    method: str
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    expires_at: datetime


class PartUrl(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    method: str
    url: str
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    expires_at: datetime


class StoredPartView(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    etag: str
    size: int | None


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    status: str
    mode: str
    filename: str
    content_type: str
    size: int
    sha256: str | None
    part_size: int
    part_count: int
    expires_at: datetime
    tags: list[str]
    # The owner's opt-in to keep GPS location in the file's metadata.
    keep_location: bool = False
    upload: PresignedUrl | None = None


class CompletionView(msgspec.Struct, frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    status: str
    size: int
    etag: str


class TagResult(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    created: bool


class FileTagsView(msgspec.Struct, frozen=True, kw_only=True):
    file_id: uuid.UUID
    tags: list[str]
