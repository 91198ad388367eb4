"""The File decider: verification verdicts, tags and deletion (stream `file-<file_id>`).

`file_decider(limits)` is what `mediaplane.eventlog.handle` runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileKind,
    FileRejected,
    FileTagsChanged,
    FileUploadedV2,
    FileVerified,
)
from mediaplane.domain import CommandContext, Decider
from mediaplane.upload_gateway.domain.errors import FileGone, FileNotFound, InvalidTag
from mediaplane.upload_gateway.domain.policy import UploadLimits, normalize_tags

FileStatus = Literal["new", "uploaded", "verified", "rejected", "deleted"]


@dataclass(frozen=True, kw_only=True)
class File:
    status: FileStatus = "new"
    uploaded: FileUploadedV2 | None = None
    tags: frozenset[str] = frozenset()
    kind: FileKind | None = None


def evolve(state: File, event: Event) -> File:
    if isinstance(event, FileUploadedV2):
        return File(status="uploaded", uploaded=event, tags=frozenset(event.tags))
    if isinstance(event, FileVerified):
        return File(status="verified", uploaded=state.uploaded, tags=state.tags, kind=event.kind)
    if isinstance(event, FileRejected):
        return File(status="rejected", uploaded=state.uploaded, tags=state.tags)
    if isinstance(event, FileTagsChanged):
        tags = (state.tags | set(event.added)) - set(event.removed)
        return File(status=state.status, uploaded=state.uploaded, tags=tags, kind=state.kind)
    if isinstance(event, FileDeleted):
        return File(status="deleted", uploaded=state.uploaded, tags=state.tags, kind=state.kind)
    return state


def _require_owned(state: File, owner: str, *, admin: bool = False) -> FileUploadedV2:
    uploaded = state.uploaded
    if uploaded is None or (uploaded.owner != owner and not admin):
        raise FileNotFound("no such file")
    return uploaded


# -- verification (the verifier worker) ------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What reading the stored object found; `rejection` is None when it is accepted."""

    sha256: str
    size: int
    media_type: str
    kind: FileKind
    rejection: tuple[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class RecordVerdict:
    verdict: Verdict
    context: CommandContext


def record_verdict(state: File, command: RecordVerdict) -> list[Event]:
    """One verdict per file: a redelivered `file.uploaded` decides nothing new."""
    verdict, context = command.verdict, command.context
    uploaded = state.uploaded
    if uploaded is None:
        raise FileNotFound("no such file")
    if state.status != "uploaded":
        return []
    stream = f"file-{uploaded.file_id}"
    if verdict.rejection is not None:
        code, detail = verdict.rejection
        return [
            context.event(
                FileRejected,
                stream_id=stream,
                file_id=uploaded.file_id,
                owner=uploaded.owner,
                code=code,
                detail=detail,
            )
        ]
    return [
        context.event(
            FileVerified,
            stream_id=stream,
            file_id=uploaded.file_id,
            owner=uploaded.owner,
            bucket=uploaded.bucket,
            # The verified copy, never the client-writable staging object.
            object_key=uploaded.original_key,
            sha256=verdict.sha256,
            size=verdict.size,
            media_type=verdict.media_type,
            kind=verdict.kind,
            keep_location=uploaded.keep_location,
        )
    ]


# -- owner commands --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SetTags:
    owner: str
    tags: list[str] = field(default_factory=list)
    context: CommandContext


def set_tags(state: File, command: SetTags, limits: UploadLimits) -> list[Event]:
    """Replace the file's tags; only the difference is recorded, and no change records nothing."""
    uploaded = _require_owned(state, command.owner)
    if state.status == "deleted":
        raise FileGone("the file is deleted")
    wanted = set(normalize_tags(command.tags, limits))
    added, removed = sorted(wanted - state.tags), sorted(state.tags - wanted)
    if not added and not removed:
        return []
    if len(wanted) > limits.max_tags_per_file:
        raise InvalidTag(f"at most {limits.max_tags_per_file} tags per file")
    return [
        command.context.event(
            FileTagsChanged,
            stream_id=f"file-{uploaded.file_id}",
            file_id=uploaded.file_id,
            owner=uploaded.owner,
            added=added,
            removed=removed,
        )
    ]


@dataclass(frozen=True, kw_only=True)
class DeleteFile:
    owner: str
    admin: bool = False
    context: CommandContext


FileCommand = RecordVerdict | SetTags | DeleteFile


def delete_file(state: File, command: DeleteFile) -> list[Event]:
    """Delete once; deleting again changes nothing. The janitor purges the objects."""
    uploaded = _require_owned(state, command.owner, admin=command.admin)
    if state.status == "deleted":
        return []
    return [
        command.context.event(
            FileDeleted,
            stream_id=f"file-{uploaded.file_id}",
            file_id=uploaded.file_id,
            owner=uploaded.owner,
            deleted_by=command.owner,
        )
    ]


def file_decider(limits: UploadLimits) -> Decider[FileCommand, File]:
    """The file's decider under `limits`."""

    def decide(command: FileCommand, state: File) -> list[Event]:
        if isinstance(command, RecordVerdict):
            return record_verdict(state, command)
        if isinstance(command, SetTags):
            return set_tags(state, command, limits)
        return delete_file(state, command)

    return Decider(initial_state=File(), decide=decide, evolve=evolve)
