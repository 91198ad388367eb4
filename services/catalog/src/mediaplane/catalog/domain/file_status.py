"""The file-status rules: which facts put a file, its transcode and thumbnails in which status.

Pure: it imports the contracts and the standard library only.

The catalog projects a file from the *set* of its events, never from their
arrival order: a status is the first rule of its table whose condition holds
over that set, and "latest" means latest by `(occurred_at, event_id)`. Read as
transitions, the tables say for instance that `file.uploaded` (or the session's
completion) moves an `uploading` file to `verifying`, `file.verified` moves it
to `ready`, and `file.rejected` or `file.deleted` override both, whenever
they arrive.

`file_status` evaluates the tables in Python. The files projection's SQL is
compiled from the same tables (`adapters/status_sql.py`), so the two cannot
drift; a test runs every short event sequence through both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileUploaded,
    FileUploadedV2,
    FileVerified,
    JanitorSessionExpired,
    ThumbnailFailed,
    ThumbnailGenerated,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeStarted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)


class History:
    """A file's events in ledger order (oldest first by `(occurred_at, event_id)`)."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = sorted(events, key=lambda e: (e.occurred_at, e.event_id))

    def latest(self, kinds: Sequence[type[Event]]) -> Event | None:
        tags = {k.tag() for k in kinds}
        return next((e for e in reversed(self.events) if e.tag() in tags), None)


class Condition(Protocol):
    def holds(self, history: History) -> bool: ...


@dataclass(frozen=True)
class Seen:
    """Some event of one of these types happened."""

    events: tuple[type[Event], ...]

    def holds(self, history: History) -> bool:
        return history.latest(self.events) is not None


@dataclass(frozen=True)
class LatestIs:
    """Of the events of the types `among`, the latest is an `event`."""

    among: tuple[type[Event], ...]
    event: type[Event]

    def holds(self, history: History) -> bool:
        latest = history.latest(self.among)
        return latest is not None and latest.tag() == self.event.tag()


@dataclass(frozen=True)
class VerifiedKind:
    """The file was verified as one of these kinds (the latest `file.verified` says)."""

    kinds: tuple[str, ...]

    def holds(self, history: History) -> bool:
        verified = history.latest((FileVerified,))
        return isinstance(verified, FileVerified) and verified.kind in self.kinds


@dataclass(frozen=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def holds(self, history: History) -> bool:
        return any(c.holds(history) for c in self.conditions)


@dataclass(frozen=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def holds(self, history: History) -> bool:
        return all(c.holds(history) for c in self.conditions)


@dataclass(frozen=True)
class Not:
    condition: Condition

    def holds(self, history: History) -> bool:
        return not self.condition.holds(history)


@dataclass(frozen=True)
class Always:
    def holds(self, history: History) -> bool:
        return True


@dataclass(frozen=True)
class Rule:
    status: str
    when: Condition


@dataclass(frozen=True)
class StatusTable:
    """Ordered rules: the status is the first whose condition holds (None if none does).

    `failure` is the event whose latest `code` explains the `failed` status.
    """

    rules: tuple[Rule, ...]
    failure: type[Event] | None = None

    def status(self, history: History) -> str | None:
        return next((r.status for r in self.rules if r.when.holds(history)), None)

    def chosen(self, status: str) -> tuple[tuple[Condition, ...], Condition]:
        """The conditions of the rules before `status` (all false) and its own (true)."""
        at = next(i for i, r in enumerate(self.rules) if r.status == status)
        return tuple(r.when for r in self.rules[:at]), self.rules[at].when


UPLOADED = Seen((FileUploaded, FileUploadedV2))
VERIFIED = Seen((FileVerified,))
_TRANSCODE = (TranscodeStarted, TranscodeCompleted, TranscodeFailed)

# A file is listed once it was uploaded, or while its upload session may still complete.
LISTED: Condition = AnyOf(
    (
        UPLOADED,
        AllOf(
            (
                Seen((UploadSessionOpened,)),
                Not(Seen((UploadSessionAborted, JanitorSessionExpired))),
            )
        ),
    )
)

LIFECYCLE = StatusTable(
    (
        Rule("deleted", Seen((FileDeleted,))),
        Rule("rejected", Seen((FileRejected,))),
        Rule("ready", VERIFIED),
        Rule("verifying", AnyOf((UPLOADED, Seen((UploadSessionCompleted,))))),
        Rule("uploading", Always()),
    )
)
# The latest rejection's code is kept whatever the status (a rejected file may be deleted).
REJECTION = FileRejected

# Videos and audio are transcoded: None for other files. A retry after a failure runs again.
TRANSCODE = StatusTable(
    (
        Rule("ready", Seen((TranscodeCompleted,))),
        Rule("failed", LatestIs(_TRANSCODE, TranscodeFailed)),
        Rule("running", LatestIs(_TRANSCODE, TranscodeStarted)),
        Rule("pending", VerifiedKind(("video", "audio"))),
    ),
    failure=TranscodeFailed,
)

# A re-run that failed (an admin's second job, see `transcode_status`): `failed` while the
# latest attempt failed but an earlier one completed, so that generation is still served
# and the transcode status stays `ready`; None otherwise (a later success clears it).
TRANSCODE_RERUN = StatusTable(
    (
        Rule(
            "failed",
            AllOf((Seen((TranscodeCompleted,)), LatestIs(_TRANSCODE, TranscodeFailed))),
        ),
    ),
    failure=TranscodeFailed,
)

THUMBNAIL = StatusTable(
    (
        Rule("ready", Seen((ThumbnailGenerated,))),
        Rule("failed", Seen((ThumbnailFailed,))),
        Rule("pending", VerifiedKind(("image", "video", "pdf"))),
    ),
    failure=ThumbnailFailed,
)


@dataclass(frozen=True, kw_only=True)
class FileStatus:
    status: str
    rejection_code: str | None
    transcode_status: str | None
    transcode_error: str | None
    transcode_rerun_error: str | None
    thumbnail_status: str | None
    thumbnail_error: str | None


def _code(history: History, event: type[Event] | None) -> str | None:
    latest = history.latest((event,)) if event else None
    code = getattr(latest, "code", None)
    return code if isinstance(code, str) else None


def _failure_code(history: History, table: StatusTable) -> str | None:
    """The latest failure's code while the table's status is `failed`."""
    return _code(history, table.failure) if table.status(history) == "failed" else None


def file_status(events: Iterable[Event]) -> FileStatus | None:
    """The statuses of the file these events (one file's, in any order) describe.

    None when the catalog lists no such file (see LISTED). The rejection code is
    the latest rejection's; a transcode or thumbnail error is shown only while
    that status is `failed`, a re-run's error only while TRANSCODE_RERUN says so.
    """
    history = History(events)
    if not LISTED.holds(history):
        return None
    status = LIFECYCLE.status(history)
    assert status is not None  # the last lifecycle rule always holds
    return FileStatus(
        status=status,
        rejection_code=_code(history, REJECTION),
        transcode_status=TRANSCODE.status(history),
        transcode_error=_failure_code(history, TRANSCODE),
        transcode_rerun_error=_failure_code(history, TRANSCODE_RERUN),
        thumbnail_status=THUMBNAIL.status(history),
        thumbnail_error=_failure_code(history, THUMBNAIL),
    )
