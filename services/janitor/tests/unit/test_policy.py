"""When sweeps may act, and how failed cleanups back off."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mediaplane.contracts import EventContext
from mediaplane.domain import CommandContext
from mediaplane.janitor.domain.actions import (
    RECORDER,
    Action,
    AlreadyRecorded,
    Record,
    StoredObject,
    file_purged,
    orphan_removed,
    session_expired,
)
from mediaplane.janitor.domain.policy import ProjectionProgress, retry_after, sweep_cutoff

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)
CTX = CommandContext(
    now=NOW, cause=EventContext(producer="janitor", correlation_id="c", causation_id="cause")
)


def test_nothing_is_judged_before_the_projection_consumer_exists() -> None:
    assert sweep_cutoff(NOW, ProjectionProgress(started=False), HOUR) is None


def test_a_caught_up_projection_judges_by_the_clock() -> None:
    assert sweep_cutoff(NOW, ProjectionProgress(started=True), HOUR) == NOW - HOUR


def test_a_lagging_projection_judges_by_where_it_is() -> None:
    behind = ProjectionProgress(started=True, behind_since=NOW - 5 * HOUR)
    assert sweep_cutoff(NOW, behind, HOUR) == NOW - 6 * HOUR
    # A publish time ahead of the janitor's clock (skew) never moves the horizon forward.
    ahead = ProjectionProgress(started=True, behind_since=NOW + HOUR)
    assert sweep_cutoff(NOW, ahead, HOUR) == NOW - HOUR


def test_failed_cleanups_back_off_doubling_up_to_an_hour() -> None:
    minute = timedelta(minutes=1)
    delays = [retry_after(NOW, attempts, minute) - NOW for attempts in (1, 2, 3, 7, 10_000)]
    assert delays == [minute, 2 * minute, 4 * minute, HOUR, HOUR]


def test_an_expiry_records_what_was_freed() -> None:
    session, file = uuid.uuid4(), uuid.uuid4()
    aborted = Action(
        kind="expire_session",
        subject=str(session),
        dry_run=False,
        upload=StoredObject(bucket="originals", key="k", size=2200),
    )
    event = session_expired(aborted, session_id=session, file_id=file, context=CTX)
    assert (event.stream_id, event.causation_id) == (f"janitor-{session}", "cause")
    assert (event.multipart_aborted, event.object_deleted, event.bytes_freed) == (True, False, 2200)

    deleted = Action(
        kind="expire_session",
        subject=str(session),
        dry_run=False,
        objects=[StoredObject(bucket="originals", key="k", size=7)],
    )
    event = session_expired(deleted, session_id=session, file_id=file, context=CTX)
    assert (event.multipart_aborted, event.object_deleted, event.bytes_freed) == (False, True, 7)


def test_purges_and_orphans_count_objects_and_bytes() -> None:
    file = uuid.uuid4()
    purge = Action(
        kind="purge_file",
        subject=str(file),
        dry_run=False,
        objects=[StoredObject(bucket="b", key=k, size=s) for k, s in (("a", 3), ("b", 4))],
    )
    purged = file_purged(purge, file_id=file, context=CTX)
    assert (purged.objects_deleted, purged.bytes_freed) == (2, 7)

    orphan = Action(
        kind="remove_orphan",
        subject="upload-1",
        dry_run=False,
        upload=StoredObject(bucket="originals", key="k", size=9),
    )
    removed = orphan_removed(orphan, context=CTX)
    assert (removed.stream_id, removed.upload_id, removed.size, removed.reason) == (
        "janitor-upload-1",
        "upload-1",
        9,
        "unknown_upload",
    )


def test_a_one_time_cleanup_is_recorded_once_and_purges_any_number_of_times() -> None:
    file = uuid.uuid4()
    purge = Action(kind="purge_file", subject=str(file), dry_run=False)
    purged = file_purged(purge, file_id=file, context=CTX)
    assert purged.occurred_at == NOW
    once = Record(event=purged)
    assert RECORDER.decide(once, RECORDER.fold([])) == [purged]
    with pytest.raises(AlreadyRecorded):
        RECORDER.decide(once, RECORDER.fold([purged]))
    again = Record(event=purged, once=False)
    assert RECORDER.decide(again, RECORDER.fold([purged])) == [purged]
