"""The File decider: verification verdicts, tags and deletion (stream `file-<file_id>`).

`file_decider(limits)` is what `mediaplane.eventlog.handle` runs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileKind,
    FileRejected,
    FileReportDismissed,
    FileReported,
    FileReprocessRequestedV2,
    FileRestored,
    FileTagsChanged,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    ReprocessTargetV2,
)
from mediaplane.domain import CommandContext, Decider
from mediaplane.upload_gateway.domain import moderation
from mediaplane.upload_gateway.domain.errors import (
    FileGone,
    FileNotFound,
    FileNotVerified,
    InvalidReprocessTarget,
    InvalidTag,
    ReprocessNotApplicable,
    TakenDown,
)
from mediaplane.upload_gateway.domain.policy import UploadLimits, normalize_tags

FileStatus = Literal["new", "uploaded", "verified", "rejected", "deleted"]


@dataclass(frozen=True, kw_only=True)
class File:
    status: FileStatus = "new"
    uploaded: FileUploadedV2 | None = None
    tags: frozenset[str] = frozenset()
    kind: FileKind | None = None
    # Moderation (issue 16): open reports by id (-> reporter), and the takedown's reason.
    open_reports: dict[uuid.UUID, str] = field(default_factory=dict)
    taken_down: str | None = None
    verified: FileVerified | None = None  # what a reprocess request names


def evolve(state: File, event: Event) -> File:
    moderated = _evolve_lifecycle(state, event)
    if isinstance(event, FileReported):
        return replace(
            moderated, open_reports={**state.open_reports, event.report_id: event.reporter}
        )
    if isinstance(event, FileReportDismissed):
        rest = {k: v for k, v in state.open_reports.items() if k != event.report_id}
        return replace(moderated, open_reports=rest)
    if isinstance(event, FileTakenDown):
        resolved = set(event.report_ids)
        rest = {k: v for k, v in state.open_reports.items() if k not in resolved}
        return replace(moderated, open_reports=rest, taken_down=event.reason)
    if isinstance(event, FileRestored):
        return replace(moderated, taken_down=None)
    return moderated


def _evolve_lifecycle(state: File, event: Event) -> File:
    if isinstance(event, FileUploadedV2):
        return replace(state, status="uploaded", uploaded=event, tags=frozenset(event.tags))
    if isinstance(event, FileVerified):
        return replace(state, status="verified", kind=event.kind, verified=event)
    if isinstance(event, FileRejected):
        return replace(state, status="rejected", kind=None)
    if isinstance(event, FileTagsChanged):
        tags = (state.tags | set(event.added)) - set(event.removed)
        return replace(state, tags=tags)
    if isinstance(event, FileDeleted):
        return replace(state, status="deleted")
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


@dataclass(frozen=True, kw_only=True)
class RequestReprocess:
    admin: str
    target: str  # checked here: an unknown target is the command's fault (422), not its shape's
    context: CommandContext


# Which kinds of file each target has artifacts for (the workers' own rules): a re-run
# that no worker would act on is refused rather than silently ignored.
REPROCESS_KINDS: dict[ReprocessTargetV2, frozenset[str]] = {
    "thumbnails": frozenset({"image", "video", "pdf"}),
    "transcode": frozenset({"video", "audio"}),
    "variants": frozenset({"image", "video"}),
}
REPROCESS_TARGETS: tuple[ReprocessTargetV2, ...] = get_args(ReprocessTargetV2)


def request_reprocess(state: File, command: RequestReprocess) -> list[Event]:
    """An admin's re-run of a worker's job: only for a verified, live file that is not
    taken down, and only of a target that file's kind has artifacts for."""
    target = next((t for t in REPROCESS_TARGETS if t == command.target), None)
    if target is None:
        raise InvalidReprocessTarget(
            f"unknown target {command.target!r}: one of {', '.join(REPROCESS_TARGETS)}"
        )
    verified = state.verified
    if state.uploaded is None:
        raise FileNotFound("no such file")
    if state.status == "deleted":
        raise FileGone("the file is deleted")
    if state.taken_down is not None:
        raise TakenDown(f"the file is taken down ({state.taken_down}): restore it first")
    if state.status != "verified" or verified is None:
        raise FileNotVerified(f"the file is {state.status}: nothing to reprocess")
    if verified.kind not in REPROCESS_KINDS[target]:
        raise ReprocessNotApplicable(f"a {verified.kind} file has no {target} to make again")
    return [
        command.context.event(
            FileReprocessRequestedV2,
            stream_id=f"file-{verified.file_id}",
            file_id=verified.file_id,
            owner=verified.owner,
            target=target,
            requested_by=command.admin,
            bucket=verified.bucket,
            object_key=verified.object_key,
            sha256=verified.sha256,
            size=verified.size,
            media_type=verified.media_type,
            kind=verified.kind,
        )
    ]


FileCommand = RecordVerdict | SetTags | DeleteFile | RequestReprocess | moderation.ModerationCommand


def file_decider(limits: UploadLimits) -> Decider[FileCommand, File]:
    """The file's decider under `limits`."""

    def decide(command: FileCommand, state: File) -> list[Event]:
        if isinstance(command, RecordVerdict):
            return record_verdict(state, command)
        if isinstance(command, SetTags):
            return set_tags(state, command, limits)
        if isinstance(command, DeleteFile):
            return delete_file(state, command)
        if isinstance(command, RequestReprocess):
            return request_reprocess(state, command)
        return moderation.decide(state, command)

    return Decider(initial_state=File(), decide=decide, evolve=evolve)
