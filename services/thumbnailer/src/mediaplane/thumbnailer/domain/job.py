"""The thumbnail job of one file (stream `thumbnail-<file_id>`): it ends once, generated or failed.

A `mediaplane.domain.Decider`: `decide(command, state)` and `evolve(state,
event)` are pure. Whatever the redeliveries, replicas or replays, a file gets
one outcome: a command against a finished job decides nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from mediaplane.contracts import (
    Event,
    Thumbnail,
    ThumbnailFailed,
    ThumbnailGenerated,
    ThumbnailSource,
)
from mediaplane.domain import CommandContext, Decider
from mediaplane.thumbnailer.domain.errors import MediaError

Status = Literal["pending", "generated", "failed"]


def thumbnail_stream(file_id: uuid.UUID) -> str:
    return f"thumbnail-{file_id}"


def thumbnail_key(file_id: uuid.UUID, name: str, extension: str) -> str:
    """`<file_id>/<name>.<ext>`: no user text in keys, one prefix per file for the janitor."""
    return f"{file_id}/{name}.{extension}"


@dataclass(frozen=True)
class ThumbnailJob:
    status: Status = "pending"
    # The events each outcome answered (their causation ids): a re-run request is
    # answered once, whatever its redeliveries.
    causes: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class RecordThumbnails:
    file_id: uuid.UUID
    bucket: str
    thumbnails: Sequence[Thumbnail]
    source: ThumbnailSource
    context: CommandContext
    rerun: bool = False  # answers a `file.reprocess_requested` (the context's cause)


@dataclass(frozen=True, kw_only=True)
class RecordFailure:
    file_id: uuid.UUID
    error: MediaError
    context: CommandContext
    rerun: bool = False


Command = RecordThumbnails | RecordFailure


def decide(command: Command, state: ThumbnailJob) -> list[Event]:
    cause = command.context.cause.causation_id
    if state.status != "pending" and not (command.rerun and cause not in state.causes):
        # One outcome per file and per re-run request: duplicates and racing replicas
        # decide nothing.
        return []
    stream_id = thumbnail_stream(command.file_id)
    if isinstance(command, RecordThumbnails):
        return [
            command.context.event(
                ThumbnailGenerated,
                stream_id=stream_id,
                file_id=command.file_id,
                bucket=command.bucket,
                thumbnails=list(command.thumbnails),
                source=command.source,
            )
        ]
    return [
        command.context.event(
            ThumbnailFailed,
            stream_id=stream_id,
            file_id=command.file_id,
            code=command.error.code,
            detail=command.error.detail,
        )
    ]


def evolve(state: ThumbnailJob, event: Event) -> ThumbnailJob:
    causes = state.causes | {event.causation_id} if event.causation_id else state.causes
    if isinstance(event, ThumbnailGenerated):
        return ThumbnailJob(status="generated", causes=causes)
    if isinstance(event, ThumbnailFailed):
        return ThumbnailJob(status="failed", causes=causes)
    return state


DECIDER: Decider[Command, ThumbnailJob] = Decider(
    initial_state=ThumbnailJob(), decide=decide, evolve=evolve
)
