"""The job decider: given the stream's events, when a command, then these events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mediaplane.contracts import (
    Event,
    EventContext,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeStarted,
    VideoSource,
)
from mediaplane.domain import CommandContext
from mediaplane.transcoder.domain import job

FILE = uuid.uuid4()
JOB = uuid.uuid4()
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CONTEXT = CommandContext(
    now=NOW, cause=EventContext(producer="transcoder", correlation_id="c-1", causation_id="e-1")
)
SOURCE = VideoSource(width=1920, height=1080, duration=2.0, fps=30.0, video_codec="h264")


def given(*events: Event) -> job.Job:
    state = job.Job()
    for event in events:
        state = job.evolve(state, event)
    return state


def started() -> list[Event]:
    return job.start(
        job.Job(),
        job.Start(file_id=FILE, job_id=JOB, source=SOURCE, ladder=["1080p"], context=CONTEXT),
    )


def completed(state: job.Job) -> list[Event]:
    return job.complete(
        state,
        job.Complete(
            file_id=FILE,
            job_id=JOB,
            bucket="renditions",
            master_playlist_key=f"{FILE}/{JOB}/master.m3u8",
            renditions=[],
            duration=2.0,
            elapsed=1.0,
            context=CONTEXT,
        ),
    )


def failed(state: job.Job) -> list[Event]:
    return job.fail(
        state,
        job.Fail(
            file_id=FILE,
            job_id=JOB,
            code="corrupt_input",
            detail="moov atom not found",
            attempts=1,
            context=CONTEXT,
        ),
    )


def test_a_new_job_starts_on_the_files_transcode_stream() -> None:
    [event] = started()
    assert isinstance(event, TranscodeStarted)
    assert event.stream_id == f"transcode-{FILE}"
    assert (event.job_id, event.ladder, event.source) == (JOB, ["1080p"], SOURCE)
    assert (event.correlation_id, event.causation_id) == ("c-1", "e-1")
    assert event.occurred_at == NOW


def test_a_retried_attempt_does_not_announce_the_job_again() -> None:
    state = given(*started())
    assert (
        job.start(
            state,
            job.Start(file_id=FILE, job_id=JOB, source=SOURCE, ladder=["1080p"], context=CONTEXT),
        )
        == []
    )


def test_a_started_job_completes_once() -> None:
    [event] = completed(given(*started()))
    assert isinstance(event, TranscodeCompleted)
    assert completed(given(*started(), event)) == []
    assert given(*started(), event).status == "completed"


def test_completing_a_job_that_never_started_is_a_bug() -> None:
    with pytest.raises(ValueError, match="before it started"):
        completed(job.Job())


def test_a_job_may_fail_before_it_started_and_fails_once() -> None:
    [event] = failed(job.Job())
    assert isinstance(event, TranscodeFailed)
    assert (event.code, event.attempts) == ("corrupt_input", 1)
    assert failed(given(event)) == []


def test_a_completed_job_cannot_fail_afterwards() -> None:
    state = given(*started(), *completed(given(*started())))
    assert failed(state) == []


def test_a_very_long_failure_detail_is_cut() -> None:
    [event] = job.fail(
        job.Job(),
        job.Fail(
            file_id=FILE, job_id=JOB, code="internal", detail="x" * 10_000, attempts=5,
            context=CONTEXT,
        ),
    )  # fmt: skip
    assert isinstance(event, TranscodeFailed)
    assert len(event.detail) == 2000


def progress(state: job.Job, percent: float = 25.0) -> list[Event]:
    return job.report_progress(
        state,
        job.ReportProgress(
            file_id=FILE, job_id=JOB, percent=percent, processed=0.5, context=CONTEXT
        ),
    )


def test_a_started_job_reports_progress() -> None:
    [event] = progress(given(*started()))
    assert isinstance(event, TranscodeProgress)
    assert (event.job_id, event.percent, event.processed) == (JOB, 25.0, 0.5)
    assert event.stream_id == f"transcode-{FILE}"


def test_progress_before_the_start_or_after_the_end_is_dropped() -> None:
    assert progress(job.Job()) == []
    done = given(*started())
    done = given(*started(), *completed(done))
    assert progress(done) == []


def test_a_rerun_is_a_second_job_on_the_stream_that_completes_after_the_first() -> None:
    first = given(*started(), *completed(given(*started())))
    rerun = uuid.uuid4()
    [again] = job.start(
        first,
        job.Start(file_id=FILE, job_id=rerun, source=SOURCE, ladder=["1080p"], context=CONTEXT),
    )
    assert isinstance(again, TranscodeStarted)
    assert (again.job_id, job.evolve(first, again).status) == (rerun, "started")
    [done] = job.complete(
        job.evolve(first, again),
        job.Complete(
            file_id=FILE,
            job_id=rerun,
            bucket="renditions",
            master_playlist_key=f"{FILE}/{rerun}/master.m3u8",
            renditions=[],
            duration=2.0,
            elapsed=1.0,
            context=CONTEXT,
        ),
    )
    assert isinstance(done, TranscodeCompleted)
    assert done.master_playlist_key == f"{FILE}/{rerun}/master.m3u8"
    # The first job's redelivered completion decides nothing on the second's stream.
    assert completed(job.evolve(job.evolve(first, again), done)) == []
