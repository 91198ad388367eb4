"""upload-gateway: files (stream `file-<file_id>`) and tags (stream `tag-<name>`)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

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


class FileUploadedV2(Event, tag="file.uploaded.v2", frozen=True, kw_only=True):
    """The client's bytes are in storage; `content_type` and `sha256` are what it declared.

    `object_key` is the staging object the client wrote through presigned
    URLs (it may still change while those URLs live; nothing serves it).
    `original_key` is where the verifier puts the immutable copy it judges;
    no client ever gets a write URL for it. v1 events, upcast, carry the same
    key in both (the old layout, judged in place).
    """

    file_id: uuid.UUID
    session_id: uuid.UUID | None = None
    owner: str
    bucket: str
    object_key: str
    original_key: str
    filename: str
    content_type: str
    size: Bytes
    sha256: Sha256Hex | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    # The owner opted in to keep the picture's GPS location in its metadata (added
    # within v2 as an optional field: older events read as False, location dropped).
    keep_location: bool = False


def upcast_file_uploaded_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: the old layout had one key for the client's bytes and the original.

    A payload without `object_key` stays invalid (decoding it then fails
    validation, as the v1 would have) rather than failing here.
    """
    return {**payload, "original_key": payload.get("object_key")}


# `object_key` of file.verified.v1 names the bytes that were judged, the only
# ones anyone may serve or process: after a file.uploaded.v2 the immutable
# original (the verifier's server-side copy), never the staging object. The
# meaning ("where the verified bytes are") is unchanged, so it stays v1.
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
    # Copied from file.uploaded.v2: the metadata extractor keeps GPS only when True.
    keep_location: bool = False


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


# -- moderation (issue 16): reports, takedowns and restores, on the file's own stream ----------


class FileReported(Event, tag="file.reported.v1", frozen=True, kw_only=True):
    """A signed-in user reported the file; the report stays open until a moderator
    dismisses it or takes the file down."""

    file_id: uuid.UUID
    owner: str
    report_id: uuid.UUID
    reporter: str
    reason: str


class FileReportDismissed(Event, tag="file.report_dismissed.v1", frozen=True, kw_only=True):
    """A moderator found nothing to act on in one report."""

    file_id: uuid.UUID
    owner: str
    report_id: uuid.UUID
    moderator: str
    note: str = ""


class FileTakenDown(Event, tag="file.taken_down.v1", frozen=True, kw_only=True):
    """A moderator hid the file from everyone but moderators and admins; `report_ids` are
    the open reports this resolves. The owner sees `reason`."""

    file_id: uuid.UUID
    owner: str
    moderator: str
    reason: str
    report_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


class FileRestored(Event, tag="file.restored.v1", frozen=True, kw_only=True):
    """A moderator lifted the file's takedown: it is served again as before."""

    file_id: uuid.UUID
    owner: str
    moderator: str
    reason: str


ReprocessTarget = Literal["thumbnails", "transcode"]


class FileReprocessRequested(Event, tag="file.reprocess_requested.v1", frozen=True, kw_only=True):
    """An admin asked for a file's derived artifacts to be made again (superseded by v2,
    which adds the target `variants`; a v1 reads as a v2 of the same target)."""

    file_id: uuid.UUID
    owner: str
    target: ReprocessTarget
    requested_by: str
    bucket: str
    object_key: str
    sha256: Sha256Hex
    size: Bytes
    media_type: str
    kind: FileKind


# Which worker redoes what: the thumbnailer's thumbnails or its cached variants (dropped,
# made again on the next request), or the transcoder's renditions.
ReprocessTargetV2 = Literal["thumbnails", "transcode", "variants"]


class FileReprocessRequestedV2(Event, tag="file.reprocess_requested.v2", frozen=True, kw_only=True):
    """An admin asked for a file's derived artifacts to be made again. It names the
    verified original as `file.verified.v1` does, so the worker that owns `target` redoes
    its job from it (and removes the artifacts the new run does not replace).

    v2 adds the target `variants`: a v1 reader would refuse it, hence the new version."""

    file_id: uuid.UUID
    owner: str
    target: ReprocessTargetV2
    requested_by: str
    bucket: str
    object_key: str
    sha256: Sha256Hex
    size: Bytes
    media_type: str
    kind: FileKind


def upcast_file_reprocess_requested_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: the same request (every v1 target is a v2 target)."""
    return payload


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


def upcast_tag_created_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: a global tag of v1 becomes its creator's own tag."""
    rest = {key: value for key, value in payload.items() if key != "created_by"}
    return {**rest, "owner": payload.get("created_by")}
