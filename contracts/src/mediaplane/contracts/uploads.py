"""upload-gateway: upload sessions (stream `upload-<session_id>`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from mediaplane.contracts.envelope import Bytes, Event, Sha256Hex

UploadMode = Literal["single", "multipart"]


class UploadSessionOpened(Event, tag="upload.session.opened.v1", frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    owner: str
    mode: UploadMode
    bucket: str
    object_key: str
    filename: str
    content_type: str
    size: Bytes
    sha256: Sha256Hex | None = None
    part_size: Bytes
    part_count: Annotated[int, msgspec.Meta(ge=1, le=10_000)]
    expires_at: datetime
    upload_id: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    # The owner's opt-in to keep GPS location in the file's metadata (default: stripped).
    keep_location: bool = False


class UploadSessionCompleted(Event, tag="upload.session.completed.v1", frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    size: Bytes
    etag: str
    part_count: Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class UploadSessionAborted(Event, tag="upload.session.aborted.v1", frozen=True, kw_only=True):
    """`reason` is `client` (the owner aborted) or `rejected` (the verifier refused the bytes)."""

    session_id: uuid.UUID
    file_id: uuid.UUID
    reason: str
