"""The job decider: given the stream's events, when a command, then these events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mediaplane.contracts import (
    ChunkRung,
    ChunkSegment,
    ChunkSpan,
    Event,
    EventContext,
    TranscodeChunkDone,
    TranscodeChunkFailed,
    TranscodeChunkRequested,
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


# Chunked jobs: chunks requested with the plan, done (or failed) once each by any replica.

ORIGIN = job.ChunkSource(
    owner="alice",
    bucket="originals",
    object_key=f"alice/{FILE}",
    sha256="ab" * 32,
    media_type="video/mp4",
    prefix=f"{FILE}/{JOB}",
)
SPANS = [
    ChunkSpan(index=i, start=8.0 * i, end=8.0 * (i + 1), first_segment=2 * i, segments=2)
    for i in range(3)
]


def chunked_start() -> list[Event]:
    return job.start(
        job.Job(),
        job.Start(
            file_id=FILE,
            job_id=JOB,
            source=SOURCE,
            ladder=["1080p"],
            context=CONTEXT,
            chunks=SPANS,
            chunk_source=ORIGIN,
        ),
    )


def chunk_done(state: job.Job, index: int) -> list[Event]:
    rung = ChunkRung(
        name="1080p",
        segments=[ChunkSegment(uri=f"seg_{2 * index + n:05d}.ts", duration=4.0) for n in (0, 1)],
    )
    return job.decide(
        job.ReportChunkDone(
            file_id=FILE,
            job_id=JOB,
            index=index,
            rungs=[rung],
            elapsed=3.0,
            worker="w-1",
            context=CONTEXT,
        ),
        state,
    )


def chunk_failed(state: job.Job, index: int) -> list[Event]:
    return job.decide(
        job.ReportChunkFailed(
            file_id=FILE, job_id=JOB, index=index, code="corrupt_input", detail="bad NAL",
            attempts=2, context=CONTEXT,
        ),
        state,
    )  # fmt: skip


def test_a_chunked_job_requests_every_chunk_with_its_plan() -> None:
    started_event, *requests = chunked_start()
    assert isinstance(started_event, TranscodeStarted)
    assert all(isinstance(r, TranscodeChunkRequested) for r in requests)
    assert [r.chunk for r in requests if isinstance(r, TranscodeChunkRequested)] == SPANS
    first = requests[0]
    assert isinstance(first, TranscodeChunkRequested)
    assert (first.chunks_planned, first.prefix, first.sha256) == (3, f"{FILE}/{JOB}", "ab" * 32)
    assert {r.stream_id for r in requests} == {f"transcode-{FILE}"}


def test_a_retried_chunked_job_requests_nothing_again() -> None:
    state = given(*chunked_start())
    again = job.Start(
        file_id=FILE, job_id=JOB, source=SOURCE, ladder=["1080p"], context=CONTEXT,
        chunks=SPANS, chunk_source=ORIGIN,
    )  # fmt: skip
    assert job.start(state, again) == []


def test_chunks_without_their_source_are_a_bug() -> None:
    with pytest.raises(ValueError, match="source"):
        job.start(
            job.Job(),
            job.Start(
                file_id=FILE, job_id=JOB, source=SOURCE, ladder=["1080p"], context=CONTEXT,
                chunks=SPANS,
            ),
        )  # fmt: skip


def test_a_chunk_done_twice_is_recorded_once() -> None:
    state = given(*chunked_start())
    [done] = chunk_done(state, 1)
    assert isinstance(done, TranscodeChunkDone)
    assert (done.index, done.rungs[0].segments[0].uri) == (1, "seg_00002.ts")
    state = given(*chunked_start(), done)
    assert state.chunks_done == {1}
    assert chunk_done(state, 1) == []  # the redelivered chunk
    assert chunk_failed(state, 1) == []  # nor does a late failure undo it


def test_chunks_done_out_of_order_and_the_last_one() -> None:
    events = chunked_start()
    for index in (2, 0):
        [done] = chunk_done(given(*events), index)
        events.append(done)
    assert given(*events).chunks_done == {0, 2}
    [last] = chunk_done(given(*events), 1)
    events.append(last)
    state = given(*events)
    assert state.chunks_done == {0, 1, 2}
    assert state.status == "started"  # completing the ladder is the coordinator's command
    [completed_event] = completed(state)
    assert isinstance(completed_event, TranscodeCompleted)


def test_a_chunk_fails_once_and_chunks_of_an_ended_job_record_nothing() -> None:
    state = given(*chunked_start())
    [failure] = chunk_failed(state, 0)
    assert isinstance(failure, TranscodeChunkFailed)
    assert (failure.code, failure.attempts) == ("corrupt_input", 2)
    state = given(*chunked_start(), failure)
    assert chunk_failed(state, 0) == []
    assert chunk_done(state, 0) == []
    ended = given(*chunked_start(), *failed(state))
    assert chunk_done(ended, 2) == []
    assert chunk_done(job.Job(), 0) == []  # before any start
    other = given(*started())
    other_job = job.decide(
        job.ReportChunkDone(
            file_id=FILE,
            job_id=uuid.uuid4(),
            index=0,
            rungs=[],
            elapsed=1.0,
            worker="w-1",
            context=CONTEXT,
        ),
        other,
    )
    assert other_job == []  # a chunk of another job of the file
