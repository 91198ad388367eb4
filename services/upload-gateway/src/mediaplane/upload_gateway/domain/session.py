"""The UploadSession decider: open, sign parts, complete, abort (stream `upload-<session_id>`).

Pure: commands carry everything the decision needs (the command's time in
its `CommandContext`, what S3 says about the stored object, the multipart
upload id), so tests need no I/O. `session_decider(limits)` is what
`mediaplane.eventlog.handle` runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from mediaplane.contracts import (
    Event,
    FileUploadedV2,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.domain import CommandContext, Decider
from mediaplane.upload_gateway.domain.errors import (
    InvalidParts,
    PartsMissing,
    SessionExpired,
    SessionNotFound,
    SessionNotOpen,
    SizeMismatch,
)
from mediaplane.upload_gateway.domain.policy import (
    UploadLimits,
    check_content_type,
    normalize_tags,
    plan_upload,
    sanitize_filename,
)

SessionStatus = Literal["new", "open", "completed", "aborted", "expired"]


def session_stream(session_id: uuid.UUID) -> str:
    return f"upload-{session_id}"


def file_stream(file_id: uuid.UUID) -> str:
    return f"file-{file_id}"


@dataclass(frozen=True, kw_only=True)
class UploadSession:
    status: SessionStatus = "new"
    opened: UploadSessionOpened | None = None
    completed: UploadSessionCompleted | None = None

    @property
    def owner(self) -> str | None:
        return self.opened.owner if self.opened else None


def evolve(state: UploadSession, event: Event) -> UploadSession:
    if isinstance(event, UploadSessionOpened):
        return UploadSession(status="open", opened=event)
    if isinstance(event, UploadSessionCompleted):
        return UploadSession(status="completed", opened=state.opened, completed=event)
    if isinstance(event, UploadSessionAborted):
        return UploadSession(status="aborted", opened=state.opened)
    return state


# -- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OpenUpload:
    session_id: uuid.UUID
    file_id: uuid.UUID
    owner: str
    filename: str
    size: int
    content_type: str
    sha256: str | None
    tags: list[str] = field(default_factory=list)
    keep_location: bool = False
    bucket: str
    upload_id: str | None = None
    """The S3 multipart upload, created before the session is opened (None: single PUT)."""
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class StoredPart:
    number: int
    etag: str
    size: int


@dataclass(frozen=True, kw_only=True)
class CompleteUpload:
    owner: str
    stored_size: int
    etag: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class AbortUpload:
    owner: str
    reason: Literal["client", "rejected"]
    context: CommandContext


SessionCommand = OpenUpload | CompleteUpload | AbortUpload


def staging_key(owner: str, file_id: uuid.UUID) -> str:
    """Where the client writes through presigned URLs; nothing ever serves this key.

    Keys hold no user-chosen text (the filename lives in events and headers),
    and their first segment is the owner.
    """
    return f"{owner}/{file_id}/upload"


def original_key(staging: str) -> str:
    """Where the verifier puts the immutable copy of the staging object `staging`.

    No client gets a write URL for it. A session opened before staging keys
    existed (`<owner>/<file_id>`) keeps its one key: its bytes are judged in place.
    """
    folder, _, leaf = staging.rpartition("/")
    return f"{folder}/original" if leaf == "upload" else staging


def open_upload(state: UploadSession, command: OpenUpload, limits: UploadLimits) -> list[Event]:
    """Validate and open. For multipart, the S3 upload is created first and its id passed in."""
    if state.status != "new":
        raise SessionNotOpen("this session id is taken")
    filename = sanitize_filename(command.filename)
    content_type = check_content_type(command.content_type, limits)
    plan = plan_upload(command.size, limits)
    tags = normalize_tags(command.tags, limits)
    return [
        command.context.event(
            UploadSessionOpened,
            stream_id=session_stream(command.session_id),
            session_id=command.session_id,
            file_id=command.file_id,
            owner=command.owner,
            mode=plan.mode,
            bucket=command.bucket,
            object_key=staging_key(command.owner, command.file_id),
            filename=filename,
            content_type=content_type,
            size=command.size,
            sha256=command.sha256,
            part_size=plan.part_size,
            part_count=plan.part_count,
            expires_at=command.context.now + timedelta(seconds=limits.session_ttl_seconds),
            upload_id=command.upload_id,
            tags=tags,
            keep_location=command.keep_location,
        )
    ]


def status_at(state: UploadSession, now: datetime) -> SessionStatus:
    """The status a reader sees at `now`: an open session past its `expires_at` is
    expired. No gateway event says so (the janitor aborts the upload in its own
    stream), so this is decided when viewed, by the same rule `require_open` refuses by."""
    if state.status == "open" and state.opened is not None and now >= state.opened.expires_at:
        return "expired"
    return state.status


def require_open(state: UploadSession, owner: str, now: datetime) -> UploadSessionOpened:
    """The opened event of a session `owner` may still act on; others see "not found"."""
    opened = state.opened
    if opened is None or opened.owner != owner:
        raise SessionNotFound("no such upload session")
    if state.status != "open":
        raise SessionNotOpen(f"the session is {state.status}")
    if now >= opened.expires_at:
        raise SessionExpired(f"the session expired at {opened.expires_at.isoformat()}")
    return opened


def require_owner(state: UploadSession, owner: str) -> UploadSessionOpened:
    opened = state.opened
    if opened is None or opened.owner != owner:
        raise SessionNotFound("no such upload session")
    return opened


def check_part_numbers(opened: UploadSessionOpened, numbers: list[int]) -> None:
    """Parts to sign: 1..part_count, each once; a single-PUT session has no parts."""
    if opened.mode != "multipart":
        raise InvalidParts("a single-PUT session has no parts; use the upload URL")
    if not numbers:
        raise InvalidParts("no parts given")
    if len(set(numbers)) != len(numbers):
        raise InvalidParts("a part number is repeated")
    bad = [n for n in numbers if not 1 <= n <= opened.part_count]
    if bad:
        raise InvalidParts(f"part numbers must be 1..{opened.part_count}, got {bad}")


def check_completion_parts(
    opened: UploadSessionOpened, requested: list[tuple[int, str]], stored: list[StoredPart]
) -> None:
    """The client's (number, etag) list must name every part, once, as S3 stored it."""
    numbers = [n for n, _ in requested]
    if len(set(numbers)) != len(numbers):
        raise InvalidParts("a part number is repeated")
    expected = set(range(1, opened.part_count + 1))
    if set(numbers) != expected:
        missing = sorted(expected - set(numbers))
        extra = sorted(set(numbers) - expected)
        raise PartsMissing(
            f"complete needs parts 1..{opened.part_count}; missing {missing}, unknown {extra}"
        )
    by_number = {p.number: p for p in stored}
    not_stored = sorted(n for n in numbers if n not in by_number)
    if not_stored:
        raise PartsMissing(f"parts {not_stored} are not uploaded yet")
    wrong = sorted(n for n, etag in requested if _etag(etag) != _etag(by_number[n].etag))
    if wrong:
        raise InvalidParts(f"ETags of parts {wrong} do not match the stored parts")


def _etag(value: str) -> str:
    return value.strip().strip('"')


def complete_upload(state: UploadSession, command: CompleteUpload) -> list[Event]:
    """Completion appends to two streams: the session's and the new file's.

    Completing twice is answered from the first completion with no new events.
    """
    if state.status == "completed" and state.opened and state.opened.owner == command.owner:
        return []
    opened = require_open(state, command.owner, command.context.now)
    if command.stored_size != opened.size:
        raise SizeMismatch(f"declared {opened.size} bytes, storage holds {command.stored_size}")
    return [
        command.context.event(
            UploadSessionCompleted,
            stream_id=session_stream(opened.session_id),
            session_id=opened.session_id,
            file_id=opened.file_id,
            size=command.stored_size,
            etag=command.etag,
            part_count=opened.part_count,
        ),
        command.context.event(
            FileUploadedV2,
            stream_id=file_stream(opened.file_id),
            file_id=opened.file_id,
            session_id=opened.session_id,
            owner=opened.owner,
            bucket=opened.bucket,
            object_key=opened.object_key,
            original_key=original_key(opened.object_key),
            filename=opened.filename,
            content_type=opened.content_type,
            size=command.stored_size,
            sha256=opened.sha256,
            tags=opened.tags,
            keep_location=opened.keep_location,
        ),
    ]


def abort_upload(state: UploadSession, command: AbortUpload) -> list[Event]:
    """Abort an open session; aborting an aborted one changes nothing."""
    opened = require_owner(state, command.owner)
    if state.status == "aborted":
        return []
    if state.status != "open":
        raise SessionNotOpen(f"the session is {state.status}")
    return [
        command.context.event(
            UploadSessionAborted,
            stream_id=session_stream(opened.session_id),
            session_id=opened.session_id,
            file_id=opened.file_id,
            reason=command.reason,
        )
    ]


def session_decider(limits: UploadLimits) -> Decider[SessionCommand, UploadSession]:
    """The session's decider under `limits`."""

    def decide(command: SessionCommand, state: UploadSession) -> list[Event]:
        if isinstance(command, OpenUpload):
            return open_upload(state, command, limits)
        if isinstance(command, CompleteUpload):
            return complete_upload(state, command)
        return abort_upload(state, command)

    return Decider(initial_state=UploadSession(), decide=decide, evolve=evolve)
