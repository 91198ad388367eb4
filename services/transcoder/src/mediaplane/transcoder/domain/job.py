"""The transcode job decider (stream `transcode-<file_id>`): started, then completed or failed.

One job per file and source hash. Redeliveries and retries decide nothing
new: starting a started job, or finishing a finished one, yields no events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mediaplane.contracts import (
    Event,
    EventContext,
    Rendition,
    TranscodeCompleted,
    TranscodeFailed,
    TranscodeStarted,
    VideoSource,
    new_event,
)

JobStatus = Literal["none", "started", "completed", "failed"]


def transcode_stream(file_id: uuid.UUID) -> str:
    return f"transcode-{file_id}"


@dataclass(frozen=True, kw_only=True)
class Job:
    job_id: uuid.UUID | None = None
    status: JobStatus = "none"

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed")


def evolve(state: Job, event: Event) -> Job:
    if isinstance(event, TranscodeStarted):
        return Job(job_id=event.job_id, status="started")
    if isinstance(event, TranscodeCompleted):
        return Job(job_id=event.job_id, status="completed")
    if isinstance(event, TranscodeFailed):
        return Job(job_id=event.job_id, status="failed")
    return state


def _already_finished(state: Job, job_id: uuid.UUID) -> bool:
    """Whether `job_id` already finished (a duplicate command)."""
    return state.job_id == job_id and state.finished


def start(
    state: Job,
    *,
    file_id: uuid.UUID,
    job_id: uuid.UUID,
    source: VideoSource,
    ladder: Sequence[str],
    context: EventContext,
) -> list[Event]:
    """Announce the job once; a retried attempt of the same job announces nothing."""
    if state.job_id == job_id:
        return []
    return [
        new_event(
            TranscodeStarted,
            stream_id=transcode_stream(file_id),
            context=context,
            file_id=file_id,
            job_id=job_id,
            source=source,
            ladder=list(ladder),
        )
    ]


def complete(
    state: Job,
    *,
    file_id: uuid.UUID,
    job_id: uuid.UUID,
    bucket: str,
    master_playlist_key: str,
    renditions: Sequence[Rendition],
    duration: float,
    elapsed: float,
    context: EventContext,
) -> list[Event]:
    if _already_finished(state, job_id):
        return []
    if state.job_id != job_id or state.status != "started":
        raise ValueError(f"job {job_id} cannot complete before it started")
    return [
        new_event(
            TranscodeCompleted,
            stream_id=transcode_stream(file_id),
            context=context,
            file_id=file_id,
            job_id=job_id,
            bucket=bucket,
            master_playlist_key=master_playlist_key,
            renditions=list(renditions),
            duration=duration,
            elapsed=elapsed,
        )
    ]


def fail(
    state: Job,
    *,
    file_id: uuid.UUID,
    job_id: uuid.UUID,
    code: str,
    detail: str,
    attempts: int,
    context: EventContext,
) -> list[Event]:
    """A job may fail before it started (the probe refused the input)."""
    if _already_finished(state, job_id):
        return []
    return [
        new_event(
            TranscodeFailed,
            stream_id=transcode_stream(file_id),
            context=context,
            file_id=file_id,
            job_id=job_id,
            code=code,
            detail=detail[:2000],
            attempts=attempts,
        )
    ]
