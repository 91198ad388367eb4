"""The transcode job decider (stream `transcode-<file_id>`): started, progress, then completed
or failed.

One job per file and source hash, and one per admin re-run: a stream may hold
several jobs, one after another (the state is the latest's, plus the ids of
those that finished). Redeliveries and retries decide nothing new: starting a
started or finished job, or finishing a finished one, yields no events.
`DECIDER` is what `mediaplane.eventlog.handle` runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mediaplane.contracts import (
    Event,
    Mp4Rendition,
    ReadyPlaylist,
    Rendition,
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
    return state


def _already_finished(state: Job, job_id: uuid.UUID) -> bool:
    """Whether `job_id` already finished (a duplicate command), this job or an earlier one."""
    return job_id in state.done


@dataclass(frozen=True, kw_only=True)
class Start:
    file_id: uuid.UUID
    job_id: uuid.UUID
    source: VideoSource
    ladder: Sequence[str]
    context: CommandContext
    kind: str = "video"


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


Command = Start | ReportProgress | ReportSegments | Complete | Fail


def start(state: Job, command: Start) -> list[Event]:
    """Announce the job once; a retried attempt of the same job announces nothing."""
    if state.job_id == command.job_id or command.job_id in state.done:
        return []
    return [
        command.context.event(
            TranscodeStarted,
            stream_id=transcode_stream(command.file_id),
            file_id=command.file_id,
            job_id=command.job_id,
            source=command.source,
            ladder=list(command.ladder),
            kind=command.kind,
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
    if isinstance(command, Complete):
        return complete(state, command)
    return fail(state, command)


DECIDER: Decider[Command, Job] = Decider(initial_state=Job(), decide=decide, evolve=evolve)
