"""The moderation decisions on a file's stream: reports, dismissals, takedowns, restores."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

import mediaplane.upload_gateway.domain.file as file_decider
from mediaplane.contracts import (
    Event,
    EventContext,
    FileDeleted,
    FileReportDismissed,
    FileReported,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    new_event,
    utc_now,
)
from mediaplane.domain import CommandContext
from mediaplane.upload_gateway.domain import moderation
from mediaplane.upload_gateway.domain.errors import (
    AlreadyReported,
    FileGone,
    FileNotFound,
    InvalidReason,
    ModerationConflict,
    ReportNotFound,
)
from mediaplane.upload_gateway.domain.file import File
from mediaplane.upload_gateway.domain.policy import UploadLimits

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CTX = CommandContext(now=NOW, cause=EventContext(producer="upload-gateway", correlation_id="req-1"))
FILE = uuid.uuid4()
decider = file_decider.file_decider(UploadLimits())


def _uploaded() -> FileUploadedV2:
    return new_event(
        FileUploadedV2,
        occurred_at=utc_now(),
        stream_id=f"file-{FILE}",
        context=CTX.cause,
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{FILE}/upload",
        original_key=f"alice/{FILE}/original",
        filename="a.jpg",
        content_type="image/jpeg",
        size=10,
    )


def _run(state: File, command: moderation.ModerationCommand) -> tuple[File, Sequence[Event]]:
    events = decider.decide(command, state)
    for event in events:
        state = decider.evolve(state, event)
    return state, events


def _report(state: File, reporter: str) -> tuple[File, uuid.UUID]:
    report_id = uuid.uuid4()
    state, (event,) = _run(
        state,
        moderation.ReportFile(reporter=reporter, report_id=report_id, reason=" spam ", context=CTX),
    )
    assert isinstance(event, FileReported)
    assert (event.owner, event.reporter, event.reason) == ("alice", reporter, "spam")
    return state, report_id


def test_a_takedown_resolves_the_open_reports_and_a_restore_lifts_it() -> None:
    state = decider.evolve(File(), _uploaded())
    state, first = _report(state, "bob")
    state, second = _report(state, "carol")
    state, (dismissed,) = _run(
        state, moderation.DismissReport(moderator="mod", report_id=first, context=CTX)
    )
    assert isinstance(dismissed, FileReportDismissed)
    state, (down,) = _run(state, moderation.TakeDown(moderator="mod", reason="abuse", context=CTX))
    assert isinstance(down, FileTakenDown)
    assert (down.reason, down.report_ids, state.taken_down) == ("abuse", [second], "abuse")
    assert state.open_reports == {}
    state, (restored,) = _run(state, moderation.Restore(moderator="mod", reason="ok", context=CTX))
    assert isinstance(restored, FileRestored)
    assert state.taken_down is None


def test_refusals() -> None:
    with pytest.raises(FileNotFound):
        _run(File(), moderation.TakeDown(moderator="mod", reason="x", context=CTX))
    state = decider.evolve(File(), _uploaded())
    state, _ = _report(state, "bob")
    with pytest.raises(AlreadyReported):
        _report(state, "bob")
    for reason in ("", "   ", "x" * 1001, "bell\x07"):
        with pytest.raises(InvalidReason):
            _run(
                state,
                moderation.ReportFile(
                    reporter="c", report_id=uuid.uuid4(), reason=reason, context=CTX
                ),
            )
    with pytest.raises(ReportNotFound):
        _run(state, moderation.DismissReport(moderator="m", report_id=uuid.uuid4(), context=CTX))
    with pytest.raises(ModerationConflict):
        _run(state, moderation.Restore(moderator="m", reason="nothing to lift", context=CTX))
    down, _ = _run(state, moderation.TakeDown(moderator="m", reason="abuse", context=CTX))
    with pytest.raises(ModerationConflict):
        _run(down, moderation.TakeDown(moderator="m", reason="again", context=CTX))
    with pytest.raises(ModerationConflict):
        _report(down, "dave")
    deleted = decider.evolve(
        down,
        new_event(
            FileDeleted,
            occurred_at=utc_now(),
            stream_id=f"file-{FILE}",
            context=CTX.cause,
            file_id=FILE,
            owner="alice",
            deleted_by="alice",
        ),
    )
    with pytest.raises(FileGone):
        _run(deleted, moderation.Restore(moderator="m", reason="too late", context=CTX))


def _verified(kind: str = "image") -> Event:
    from mediaplane.contracts import FileVerified

    return new_event(
        FileVerified,
        occurred_at=utc_now(),
        stream_id=f"file-{FILE}",
        context=CTX.cause,
        file_id=FILE,
        owner="alice",
        bucket="originals",
        object_key=f"alice/{FILE}/original",
        sha256="a" * 64,
        size=10,
        media_type="image/jpeg" if kind == "image" else "video/mp4",
        kind=kind,
    )


def _reprocess(target: str) -> file_decider.RequestReprocess:
    return file_decider.RequestReprocess(admin="root", target=target, context=CTX)


def test_a_reprocess_request_names_the_verified_original() -> None:
    from mediaplane.contracts import FileReprocessRequestedV2
    from mediaplane.upload_gateway.domain.errors import FileNotVerified

    uploaded = decider.evolve(File(), _uploaded())
    with pytest.raises(FileNotVerified):
        decider.decide(_reprocess("thumbnails"), uploaded)
    (event,) = decider.decide(_reprocess("thumbnails"), decider.evolve(uploaded, _verified()))
    assert isinstance(event, FileReprocessRequestedV2)
    assert (event.object_key, event.sha256, event.kind, event.requested_by) == (
        f"alice/{FILE}/original",
        "a" * 64,
        "image",
        "root",
    )


@pytest.mark.parametrize(
    ("kind", "target"),
    [("video", "transcode"), ("video", "variants"), ("video", "thumbnails"), ("image", "variants")],
)
def test_every_target_a_kind_has_artifacts_for_is_requested(kind: str, target: str) -> None:
    ready = decider.evolve(decider.evolve(File(), _uploaded()), _verified(kind))
    (event,) = decider.decide(_reprocess(target), ready)
    assert getattr(event, "target", None) == target


def test_reprocess_refusals_name_their_reason() -> None:
    from mediaplane.upload_gateway.domain.errors import (
        InvalidReprocessTarget,
        ReprocessNotApplicable,
        TakenDown,
    )

    ready = decider.evolve(decider.evolve(File(), _uploaded()), _verified("image"))
    with pytest.raises(InvalidReprocessTarget):
        decider.decide(_reprocess("everything"), ready)
    with pytest.raises(ReprocessNotApplicable):  # an image has no renditions
        decider.decide(_reprocess("transcode"), ready)
    with pytest.raises(FileNotFound):
        decider.decide(_reprocess("thumbnails"), File())
    down = decider.evolve(
        ready,
        new_event(
            FileTakenDown,
            occurred_at=utc_now(),
            stream_id=f"file-{FILE}",
            context=CTX.cause,
            file_id=FILE,
            owner="alice",
            moderator="m",
            reason="abuse",
            report_ids=[],
        ),
    )
    with pytest.raises(TakenDown):
        decider.decide(_reprocess("thumbnails"), down)
