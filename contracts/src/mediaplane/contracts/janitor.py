"""janitor (stream `janitor-<subject id>`)."""

from __future__ import annotations

import uuid

from mediaplane.contracts.envelope import Bytes, Event


class JanitorSessionExpired(Event, tag="janitor.session.expired.v1", frozen=True, kw_only=True):
    session_id: uuid.UUID
    file_id: uuid.UUID
    multipart_aborted: bool
    object_deleted: bool
    bytes_freed: Bytes


class JanitorFilePurged(Event, tag="janitor.file.purged.v1", frozen=True, kw_only=True):
    file_id: uuid.UUID
    objects_deleted: int
    bytes_freed: Bytes


class JanitorOrphanRemoved(Event, tag="janitor.orphan.removed.v1", frozen=True, kw_only=True):
    """An object or in-progress multipart upload no session knows about."""

    bucket: str
    key: str
    upload_id: str | None = None
    size: Bytes
    reason: str
