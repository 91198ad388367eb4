"""The transcode job decider (stream `transcode-<file_id>`): started, progress, then completed
or failed; a chunked job also its chunks, requested with the plan and done (or failed) by
any replica.

One job per file and source hash, and one per admin re-run: a stream may hold
several jobs, one after another (the state is the latest's, plus the ids of
those that finished). Redeliveries and retries decide nothing new: starting a
started or finished job, or finishing a finished one, yields no events.
`DECIDER` is what `mediaplane.eventlog.handle` runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from mediaplane.contracts import (
    ChunkRung,
    ChunkSpan,
    Event,
    Mp4Rendition,
    ReadyPlaylist,
    Rendition,
    TranscodeChunkDone,
    TranscodeChunkFailed,
    TranscodeChunkRequested,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeProgress,
    TranscodeSegmentsReady,
    TranscodeStarted,
    VideoSource,
    Waveform,
)
from mediaplane.domain import CommandContext, Decider

JobStatus = Literal["none", "started", "completed", "failed"]


def transcode_stream(file_id: uuid.UUID) -> str:
    return f"transcode-{file_id}"


@dataclass(frozen=True, kw_only=True)
class Job:
    job_id: uuid.UUID | None = None
    status: JobStatus = "none"
    # Every job of the stream that completed or failed (earlier generations included).
    done: frozenset[uuid.UUID] = frozenset()
    # The latest job's chunks with an outcome (a chunked ladder).
    chunks_done: frozenset[int] = frozenset()
    chunks_failed: frozenset[int] = frozenset()

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


def evolve(state: Job, event: Event) -> Job:
    if isinstance(event, TranscodeStarted):
        return Job(job_id=event.job_id, status="started", done=state.done)
    if isinstance(event, TranscodeCompleted):
        return Job(job_id=event.job_id, status="completed", done=state.done | {event.job_id})
    if isinstance(event, TranscodeFailed):
        return Job(job_id=event.job_id, status="failed", done=state.done | {event.job_id})
    if isinstance(event, TranscodeChunkDone) and event.job_id == state.job_id:
        return replace(state, chunks_done=state.chunks_done | {event.index})
    if isinstance(event, TranscodeChunkFailed) and event.job_id == state.job_id:
        return replace(state, chunks_failed=state.chunks_failed | {event.index})
    return state


def _already_finished(state: Job, job_id: uuid.UUID) -> bool:
    """Whether `job_id` already finished (a duplicate command), this job or an earlier one."""
    return job_id in state.done


@dataclass(frozen=True, kw_only=True)
class ChunkSource:
    """What a chunk's encoder reads (the verified original) and where it writes."""

    owner: str
    bucket: str
    object_key: str
    sha256: str
    media_type: str
    prefix: str  # `<file_id>/<job_id>` in the renditions bucket


@dataclass(frozen=True, kw_only=True)
class Start:
    file_id: uuid.UUID
    job_id: uuid.UUID
    source: VideoSource
    ladder: Sequence[str]
    context: CommandContext
    kind: str = "video"
    # A chunked ladder: one `transcode.chunk_requested` per chunk, with the plan.
    chunks: Sequence[ChunkSpan] = ()
    chunk_source: ChunkSource | None = None


@dataclass(frozen=True, kw_only=True)
class ReportChunkDone:
    """A replica encoded and uploaded one chunk of the job."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    index: int
    rungs: Sequence[ChunkRung]
    elapsed: float
    worker: str
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class ReportChunkFailed:
    file_id: uuid.UUID
    job_id: uuid.UUID
    index: int
    code: str
    detail: str
    attempts: int
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class ReportProgress:
    file_id: uuid.UUID
    job_id: uuid.UUID
    percent: float
    processed: float
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class ReportSegments:
    """A chunked ladder's leading chunks are in the bucket, behind EVENT playlists."""

    file_id: uuid.UUID
    job_id: uuid.UUID
    bucket: str
    master_playlist_key: str
    playlists: Sequence[ReadyPlaylist]
    ready: float
    chunks_done: int
    chunks_planned: int
    ended: bool
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class Complete:
    file_id: uuid.UUID
    job_id: uuid.UUID
    bucket: str
    master_playlist_key: str
    renditions: Sequence[Rendition]
    duration: float
    elapsed: float
    context: CommandContext
    kind: str = "video"
    mp4: Mp4Rendition | None = None
    waveform: Waveform | None = None


@dataclass(frozen=True, kw_only=True)
class Fail:
    file_id: uuid.UUID
    job_id: uuid.UUID
    code: str
    detail: str
    attempts: int
    context: CommandContext


Command = (
    Start | ReportProgress | ReportSegments | ReportChunkDone | ReportChunkFailed | Complete | Fail
)


def start(state: Job, command: Start) -> list[Event]:
    """Announce the job once; a retried attempt of the same job announces nothing."""
    if state.job_id == command.job_id or command.job_id in state.done:
        return []
    if command.chunks and command.chunk_source is None:
        raise ValueError("a chunked job needs the source its chunks are encoded from")
    stream_id = transcode_stream(command.file_id)
    started = command.context.event(
        TranscodeStarted,
        stream_id=stream_id,
        file_id=command.file_id,
        job_id=command.job_id,
        source=command.source,
        ladder=list(command.ladder),
        kind=command.kind,
    )
    requests: list[Event] = []
    if (origin := command.chunk_source) is not None:
        requests = [
            command.context.event(
                TranscodeChunkRequested,
                stream_id=stream_id,
                file_id=command.file_id,
                job_id=command.job_id,
                owner=origin.owner,
                bucket=origin.bucket,
                object_key=origin.object_key,
                sha256=origin.sha256,
                media_type=origin.media_type,
                prefix=origin.prefix,
                chunk=chunk,
                chunks_planned=len(command.chunks),
            )
            for chunk in command.chunks
        ]
    return [started, *requests]


def _chunk_open(state: Job, job_id: uuid.UUID, index: int) -> bool:
    """Whether chunk `index` of `job_id` may still be reported: the job runs and the chunk
    has no outcome yet (a redelivered or late chunk reports nothing)."""
    return (
        state.job_id == job_id
        and state.status == "started"
        and index not in state.chunks_done
        and index not in state.chunks_failed
    )


def report_chunk_done(state: Job, command: ReportChunkDone) -> list[Event]:
    if not _chunk_open(state, command.job_id, command.index):
        return []
    return [
        command.context.event(
            TranscodeChunkDone,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            index=command.index,
            rungs=list(command.rungs),
            elapsed=command.elapsed,
            worker=command.worker,
        )
    ]


def report_chunk_failed(state: Job, command: ReportChunkFailed) -> list[Event]:
    if not _chunk_open(state, command.job_id, command.index):
        return []
    return [
        command.context.event(
            TranscodeChunkFailed,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            index=command.index,
            code=command.code,
            detail=command.detail[:2000],
            attempts=command.attempts,
        )
    ]


def report_progress(state: Job, command: ReportProgress) -> list[Event]:
    """Only a started, unfinished job reports progress; a late report after the end is dropped."""
    if state.job_id != command.job_id or state.status != "started":
        return []
    return [
        command.context.event(
            TranscodeProgress,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            percent=command.percent,
            processed=command.processed,
        )
    ]


def report_segments(state: Job, command: ReportSegments) -> list[Event]:
    """Like progress: only while the job runs (a late report after the end is dropped)."""
    if state.job_id != command.job_id or state.status != "started":
        return []
    return [
        command.context.event(
            TranscodeSegmentsReady,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            bucket=command.bucket,
            master_playlist_key=command.master_playlist_key,
            playlists=list(command.playlists),
            ready=command.ready,
            chunks_done=command.chunks_done,
            chunks_planned=command.chunks_planned,
            ended=command.ended,
        )
    ]


def complete(state: Job, command: Complete) -> list[Event]:
    if _already_finished(state, command.job_id):
        return []
    if state.job_id != command.job_id or state.status != "started":
        raise ValueError(f"job {command.job_id} cannot complete before it started")
    return [
        command.context.event(
            TranscodeCompleted,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            bucket=command.bucket,
            master_playlist_key=command.master_playlist_key,
            renditions=list(command.renditions),
            duration=command.duration,
            elapsed=command.elapsed,
            kind=command.kind,
            mp4=command.mp4,
            waveform=command.waveform,
        )
    ]


def fail(state: Job, command: Fail) -> list[Event]:
    """A job may fail before it started (the probe refused the input)."""
    if _already_finished(state, command.job_id):
        return []
    return [
        command.context.event(
            TranscodeFailed,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            code=command.code,
            detail=command.detail[:2000],
            attempts=command.attempts,
        )
    ]


def decide(command: Command, state: Job) -> list[Event]:
    if isinstance(command, Start):
        return start(state, command)
    if isinstance(command, ReportProgress):
        return report_progress(state, command)
    if isinstance(command, ReportSegments):
        return report_segments(state, command)
    if isinstance(command, ReportChunkDone):
        return report_chunk_done(state, command)
    if isinstance(command, ReportChunkFailed):
        return report_chunk_failed(state, command)
    if isinstance(command, Complete):
        return complete(state, command)
    return fail(state, command)


DECIDER: Decider[Command, Job] = Decider(initial_state=Job(), decide=decide, evolve=evolve)
