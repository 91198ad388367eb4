"""Moderation of a file (issue 16): reports, dismissals, takedowns and restores.

They are facts of the file's own stream (`file-<file_id>`), decided with its
lifecycle: a deleted file cannot be taken down, a taken-down file cannot be
reported again, and a takedown resolves exactly the reports open when it
happened. The read side (the catalog, the thumbnailer's variants) hides a
taken-down file from everyone but moderators and admins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mediaplane.contracts import (
    Event,
    FileReportDismissed,
    FileReported,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
)
from mediaplane.domain import CommandContext
from mediaplane.upload_gateway.domain.errors import (
    AlreadyReported,
    FileGone,
    FileNotFound,
    InvalidReason,
    ModerationConflict,
    ReportNotFound,
)

if TYPE_CHECKING:
    from mediaplane.upload_gateway.domain.file import File

MAX_REASON = 1000


def check_reason(reason: str) -> str:
    """A reason is 1..1000 characters of text, trimmed; control characters other than
    newlines are refused (they end up in moderators' and owners' screens)."""
    text = reason.strip()
    if not text:
        raise InvalidReason("a reason is required")
    if len(text) > MAX_REASON:
        raise InvalidReason(f"a reason has at most {MAX_REASON} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise InvalidReason("a reason may not hold control characters")
    return text


@dataclass(frozen=True, kw_only=True)
class ReportFile:
    reporter: str
    report_id: uuid.UUID
    reason: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class DismissReport:
    moderator: str
    report_id: uuid.UUID
    note: str = ""
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class TakeDown:
    moderator: str
    reason: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class Restore:
    moderator: str
    reason: str
    context: CommandContext


ModerationCommand = ReportFile | DismissReport | TakeDown | Restore


def _live(state: File) -> FileUploadedV2:
    uploaded = state.uploaded
    if uploaded is None:
        raise FileNotFound("no such file")
    if state.status == "deleted":
        raise FileGone("the file is deleted")
    return uploaded


def decide(state: File, command: ModerationCommand) -> list[Event]:
    uploaded = _live(state)
    common: dict[str, Any] = {
        "stream_id": f"file-{uploaded.file_id}",
        "file_id": uploaded.file_id,
        "owner": uploaded.owner,
    }
    context = command.context
    if isinstance(command, ReportFile):
        reason = check_reason(command.reason)
        if state.taken_down is not None:
            raise ModerationConflict("the file is already taken down")
        if command.reporter in state.open_reports.values():
            raise AlreadyReported("you have an open report on this file")
        return [
            context.event(
                FileReported,
                **common,
                report_id=command.report_id,
                reporter=command.reporter,
                reason=reason,
            )
        ]
    if isinstance(command, DismissReport):
        if command.report_id not in state.open_reports:
            raise ReportNotFound(f"no open report {command.report_id} on this file")
        return [
            context.event(
                FileReportDismissed,
                **common,
                report_id=command.report_id,
                moderator=command.moderator,
                note=command.note.strip()[:MAX_REASON],
            )
        ]
    reason = check_reason(command.reason)
    if isinstance(command, TakeDown):
        if state.taken_down is not None:
            raise ModerationConflict("the file is already taken down")
        return [
            context.event(
                FileTakenDown,
                **common,
                moderator=command.moderator,
                reason=reason,
                report_ids=sorted(state.open_reports, key=str),
            )
        ]
    if state.taken_down is None:
        raise ModerationConflict("the file is not taken down")
    return [context.event(FileRestored, **common, moderator=command.moderator, reason=reason)]
