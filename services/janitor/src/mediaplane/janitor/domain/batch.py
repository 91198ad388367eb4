"""What a batch of events changes in the janitor's projection, one row per key (pure: no I/O).

The adapter writes a batch with one statement per kind of write; a multi-row
upsert cannot touch one key twice, so the events of a key are folded here
into the one row whose upsert leaves the table as applying them one by one,
in order, would. Each row carries two readings: the values of the row if the
key is new, and what the batch changes in a row that exists (the adapter's
SQL applies the rules below to the stored row):

- sessions: the first `opened` or ended event creates the row; the first
  terminal status (completed, aborted) wins over `open` and is never undone;
  the last `opened` brings the details (mode, bucket, key, upload id, expiry).
- files: the first event creates the row; the first deletion or rejection
  dooms it, unless it is doomed already; the first `verified` sets
  `verified_at`; the latest moderation decision by (occurred_at, event_id) wins.
- objects: the first announcement of a key creates it (its kind stays); any
  announcement makes it pending again (new bytes there must be purged again).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    ThumbnailGenerated,
    TranscodeCompleted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.janitor.domain import objects
from mediaplane.janitor.domain.objects import ObjectRef

OPEN = "open"


# Mutable while the batch folds into them; slots: a batch makes hundreds.
@dataclass(slots=True, kw_only=True)
class SessionChange:
    session_id: uuid.UUID
    file_id: uuid.UUID  # the first event's: never changed afterwards
    # The first terminal status of the batch (`open` when none), and its time; with no
    # terminal status, `updated_at` is the first `opened`'s (a new row's only).
    status: str
    updated_at: datetime
    # The last `opened`'s details; `opened_event_id` None: no `opened` in the batch.
    mode: str | None = None
    bucket: str | None = None
    object_key: str | None = None
    upload_id: str | None = None
    expires_at: datetime | None = None
    correlation_id: str | None = None
    opened_event_id: uuid.UUID | None = None


@dataclass(slots=True, kw_only=True)
class FileChange:
    file_id: uuid.UUID
    # A new row's: the first doom's time, else the first event's.
    updated_at: datetime
    # The first doom of the batch (None: none).
    doomed_by: str | None = None
    doomed_at: datetime | None = None
    correlation_id: str | None = None
    doom_event_id: uuid.UUID | None = None
    verified_at: datetime | None = None  # the first `verified`'s time
    # The latest moderation decision of the batch (`moderated_at` None: none).
    taken_down_at: datetime | None = None
    moderated_at: datetime | None = None
    moderation_event_id: uuid.UUID | None = None
    moderation_correlation_id: str | None = None

    @property
    def updates(self) -> bool:
        """Whether the batch may change an existing row (objects alone only create it)."""
        return (
            self.doomed_at is not None
            or self.verified_at is not None
            or self.moderated_at is not None
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectChange:
    file_id: uuid.UUID
    bucket: str
    key: str
    is_prefix: bool
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unmanaged:
    """Objects an event named in buckets the janitor does not clean (left out)."""

    file_id: uuid.UUID
    buckets: list[str]


@dataclass(slots=True)
class BatchChanges:
    sessions: list[SessionChange] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    objects: list[ObjectChange] = field(default_factory=list)
    # A file was deleted or rejected: the purge sweep has work.
    doomed: bool = False
    # Files with objects recorded: work for the purge too if one of them is doomed.
    with_objects: list[uuid.UUID] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)


def fold(events: Iterable[Event], buckets: frozenset[str]) -> BatchChanges:
    """The changes of `events` (each applied once, in this order), one row per key."""
    sessions: dict[uuid.UUID, SessionChange] = {}
    files: dict[uuid.UUID, FileChange] = {}
    found: dict[tuple[uuid.UUID, str, str], ObjectChange] = {}
    changes = BatchChanges()

    def file(file_id: uuid.UUID, at: datetime) -> FileChange:
        change = files.get(file_id)
        if change is None:
            change = files[file_id] = FileChange(file_id=file_id, updated_at=at)
        return change

    for event in events:
        if isinstance(event, UploadSessionOpened):
            _opened(sessions, event)
        elif isinstance(event, UploadSessionCompleted | UploadSessionAborted):
            status = "completed" if isinstance(event, UploadSessionCompleted) else "aborted"
            _ended(sessions, event, status)
        elif isinstance(event, FileDeleted | FileRejected):
            _doom(file(event.file_id, event.occurred_at), event)
            changes.doomed = True
        elif isinstance(event, FileTakenDown | FileRestored):
            _moderate(file(event.file_id, event.occurred_at), event)
        elif isinstance(event, FileVerified):
            change = file(event.file_id, event.occurred_at)
            if change.verified_at is None:
                change.verified_at = event.occurred_at
        elif isinstance(event, FileUploadedV2 | TranscodeCompleted | ThumbnailGenerated):
            refs = _announced(event)
            kept = objects.managed(refs, buckets)
            if len(kept) < len(refs):
                outside = sorted({r.bucket for r in refs} - buckets)
                changes.unmanaged.append(Unmanaged(file_id=event.file_id, buckets=outside))
            if kept:
                file(event.file_id, event.occurred_at)
                for ref in kept:
                    if (event.file_id, ref.bucket, ref.key) not in found:
                        found[event.file_id, ref.bucket, ref.key] = ObjectChange(
                            file_id=event.file_id,
                            bucket=ref.bucket,
                            key=ref.key,
                            is_prefix=ref.is_prefix,
                            kind=ref.kind,
                        )
                changes.with_objects.append(event.file_id)
    changes.sessions = list(sessions.values())
    changes.files = list(files.values())
    changes.objects = list(found.values())
    return changes


def _announced(event: FileUploadedV2 | TranscodeCompleted | ThumbnailGenerated) -> list[ObjectRef]:
    if isinstance(event, FileUploadedV2):
        return objects.original_of(event)
    if isinstance(event, TranscodeCompleted):
        return objects.renditions_of(event)
    return objects.thumbnails_of(event)


def _opened(sessions: dict[uuid.UUID, SessionChange], event: UploadSessionOpened) -> None:
    change = sessions.get(event.session_id)
    if change is None:
        change = sessions[event.session_id] = SessionChange(
            session_id=event.session_id,
            file_id=event.file_id,
            status=OPEN,
            updated_at=event.occurred_at,
        )
    change.mode = event.mode
    change.bucket = event.bucket
    change.object_key = event.object_key
    change.upload_id = event.upload_id
    change.expires_at = event.expires_at
    change.correlation_id = event.correlation_id
    change.opened_event_id = event.event_id


def _ended(
    sessions: dict[uuid.UUID, SessionChange],
    event: UploadSessionCompleted | UploadSessionAborted,
    status: str,
) -> None:
    change = sessions.get(event.session_id)
    if change is None:
        sessions[event.session_id] = SessionChange(
            session_id=event.session_id,
            file_id=event.file_id,
            status=status,
            updated_at=event.occurred_at,
        )
    elif change.status == OPEN:
        change.status = status
        change.updated_at = event.occurred_at


def _doom(change: FileChange, event: FileDeleted | FileRejected) -> None:
    if change.doomed_at is not None:
        return
    change.doomed_by = "deleted" if isinstance(event, FileDeleted) else "rejected"
    change.doomed_at = event.occurred_at
    change.correlation_id = event.correlation_id
    change.doom_event_id = event.event_id
    change.updated_at = event.occurred_at


def _moderate(change: FileChange, event: FileTakenDown | FileRestored) -> None:
    """The latest decision wins: a takedown starts the retention clock, a restore stops it."""
    if change.moderated_at is not None and change.moderation_event_id is not None:
        latest = (change.moderated_at, change.moderation_event_id)
        if (event.occurred_at, event.event_id) <= latest:
            return
    change.taken_down_at = event.occurred_at if isinstance(event, FileTakenDown) else None
    change.moderated_at = event.occurred_at
    change.moderation_event_id = event.event_id
    change.moderation_correlation_id = event.correlation_id
