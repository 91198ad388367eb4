"""upload-gateway: files (stream `file-<file_id>`) and tags (stream `tag-<name>`)."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from mediaplane.contracts.envelope import Bytes, Event, Sha256Hex

FileKind = Literal["image", "video", "audio", "pdf", "other"]


class FileUploaded(Event, tag="file.uploaded.v1", frozen=True, kw_only=True):
    """The bytes are in storage; `content_type` and `sha256` are what the client declared."""

    file_id: uuid.UUID
    session_id: uuid.UUID | None = None
    owner: str
    bucket: str
    object_key: str
    filename: str
    content_type: str
    size: Bytes
    sha256: Sha256Hex | None = None
    tags: list[str] = msgspec.field(default_factory=list)


class FileVerified(Event, tag="file.verified.v1", frozen=True, kw_only=True):
    """The stored bytes were read end to end: computed hash, size and sniffed type."""

    file_id: uuid.UUID
    owner: str
    bucket: str
    object_key: str
    sha256: Sha256Hex
    size: Bytes
    media_type: str
    kind: FileKind


class FileRejected(Event, tag="file.rejected.v1", frozen=True, kw_only=True):
    """`code`: checksum_mismatch, size_mismatch, type_not_allowed, empty, missing_object, ..."""

    file_id: uuid.UUID
    owner: str
    code: str
    detail: str


class FileTagsChanged(Event, tag="file.tags_changed.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    added: list[str] = msgspec.field(default_factory=list)
    removed: list[str] = msgspec.field(default_factory=list)


class FileDeleted(Event, tag="file.deleted.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    owner: str
    deleted_by: str


class TagCreated(Event, tag="tag.created.v1", frozen=True, kw_only=True):
    """`name` is normalized (trimmed, lower case)."""

    name: str
    created_by: str


class TagCreatedV2(Event, tag="tag.created.v2", frozen=True, kw_only=True):
    """An owner's tag exists. Tags are per owner: two owners' tags of one name are two
    tags, on two streams (`tag-<owner>/<name>`). `name` is normalized (trimmed, lower case).

    v1 tags were global (one stream `tag-<name>`, `created_by` the first owner to
    name it); read as v2, a v1 tag belongs to its creator.
    """

    owner: str
    name: str
