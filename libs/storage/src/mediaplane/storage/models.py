"""Typed results of storage operations (the SDK's own results are untyped)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class PresignedRequest:
    """What a client needs to send: the method, the URL, and headers to include.

    `headers` are not part of the signature (only the host is), but the
    server applies them, e.g. Content-Type becomes the object's type.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str | None
    last_modified: datetime | None
    # User metadata without the `x-amz-meta-` prefix, keys lower-cased.
    metadata: Mapping[str, str]


@dataclass(frozen=True, kw_only=True, slots=True)
class ObjectSummary:
    """One entry of a listing (listings carry no content type or metadata)."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class UploadedPart:
    number: int
    etag: str
    size: int | None
    last_modified: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class CompletedPart:
    """A part to assemble: its number and the ETag its upload returned."""

    number: int
    etag: str


@dataclass(frozen=True, kw_only=True, slots=True)
class InProgressUpload:
    key: str
    upload_id: str
    initiated: datetime | None
