"""What a sweep did (or, dry, would do), and the janitor event that records it.

`RECORDER` is the decider of a janitor stream (`janitor-<subject>`), run by
`mediaplane.eventlog.handle` in the sweep's claim transaction: a session or
an orphan is cleaned up once, a file may be purged again when objects of it
are announced after a purge.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from mediaplane.contracts import (
    Event,
    JanitorFilePurged,
    JanitorOrphanRemoved,
    JanitorSessionExpired,
)
from mediaplane.domain import CommandContext, Decider, DomainError

ActionKind = Literal["expire_session", "remove_orphan", "purge_file"]
ORPHAN_REASON = "unknown_upload"
STAGING_REASON = "staging_leftover"


@dataclass(frozen=True, kw_only=True)
class StoredObject:
    bucket: str
    key: str
    size: int


@dataclass(frozen=True, kw_only=True)
class Action:
    """One unit of cleanup: the objects and the multipart upload it removes.

    `subject` is the session id, the upload id or the file id.
    """

    kind: ActionKind
    subject: str
    dry_run: bool
    objects: list[StoredObject] = field(default_factory=list)
    upload: StoredObject | None = None  # the multipart upload's key and its parts' bytes

    @property
    def bytes_freed(self) -> int:
        parts = self.upload.size if self.upload is not None else 0
        return parts + sum(o.size for o in self.objects)


def stream_of(subject: uuid.UUID | str) -> str:
    return f"janitor-{subject}"


def session_expired(
    action: Action, *, session_id: uuid.UUID, file_id: uuid.UUID, context: CommandContext
) -> JanitorSessionExpired:
    return context.event(
        JanitorSessionExpired,
        stream_id=stream_of(session_id),
        session_id=session_id,
        file_id=file_id,
        multipart_aborted=action.upload is not None,
        object_deleted=bool(action.objects),
        bytes_freed=action.bytes_freed,
    )


def orphan_removed(action: Action, *, context: CommandContext) -> JanitorOrphanRemoved:
    """`action.subject` is the upload id, `action.upload` the upload's key and parts' bytes."""
    if action.upload is None:
        raise ValueError("an orphan removal aborts an upload")
    return context.event(
        JanitorOrphanRemoved,
        stream_id=stream_of(action.subject),
        bucket=action.upload.bucket,
        key=action.upload.key,
        upload_id=action.subject,
        size=action.upload.size,
        reason=ORPHAN_REASON,
    )


def staging_removed(action: Action, *, context: CommandContext) -> JanitorOrphanRemoved:
    """`action.subject` is the session id, `action.objects` the staging object removed."""
    if len(action.objects) != 1:
        raise ValueError("a staging removal deletes one object")
    (leftover,) = action.objects
    return context.event(
        JanitorOrphanRemoved,
        stream_id=stream_of(action.subject),
        bucket=leftover.bucket,
        key=leftover.key,
        upload_id=None,
        size=leftover.size,
        reason=STAGING_REASON,
    )


def file_purged(
    action: Action, *, file_id: uuid.UUID, context: CommandContext
) -> JanitorFilePurged:
    return context.event(
        JanitorFilePurged,
        stream_id=stream_of(file_id),
        file_id=file_id,
        objects_deleted=len(action.objects),
        bytes_freed=action.bytes_freed,
    )


class AlreadyRecorded(DomainError):
    """The stream records a one-time cleanup already (another janitor did it)."""

    code = "already_recorded"


@dataclass(frozen=True, kw_only=True)
class Record:
    """Record `event`; `once`: only on a stream that records nothing yet."""

    event: Event
    once: bool = True


def record(command: Record, recorded: int) -> list[Event]:
    if command.once and recorded:
        raise AlreadyRecorded(f"{command.event.stream_id} records a cleanup already")
    return [command.event]


RECORDER: Decider[Record, int] = Decider(
    initial_state=0, decide=record, evolve=lambda recorded, _: recorded + 1
)
