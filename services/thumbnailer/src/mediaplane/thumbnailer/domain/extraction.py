"""The metadata of one file (stream `metadata-<file_id>`): extracted once, or failed once.

A `mediaplane.domain.Decider` like the thumbnail job: whatever the
redeliveries, replicas or replays, a file gets one outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mediaplane.contracts import (
    AudioMetadata,
    Event,
    FileKind,
    ImageMetadata,
    MetadataExtracted,
    MetadataFailed,
    PdfMetadata,
    VideoMetadata,
)
from mediaplane.domain import CommandContext, Decider
from mediaplane.thumbnailer.domain.errors import MediaError

Extracted = ImageMetadata | VideoMetadata | AudioMetadata | PdfMetadata
# Which files get metadata (by their verified kind): every kind the tools read.
EXTRACTED_KINDS: frozenset[FileKind] = frozenset({"image", "video", "audio", "pdf"})


def metadata_stream(file_id: uuid.UUID) -> str:
    return f"metadata-{file_id}"


@dataclass(frozen=True)
class Extraction:
    done: bool = False


@dataclass(frozen=True, kw_only=True)
class RecordMetadata:
    file_id: uuid.UUID
    metadata: Extracted
    context: CommandContext


@dataclass(frozen=True, kw_only=True)
class RecordExtractionFailure:
    file_id: uuid.UUID
    error: MediaError
    context: CommandContext


Command = RecordMetadata | RecordExtractionFailure


def decide(command: Command, state: Extraction) -> list[Event]:
    if state.done:
        return []
    stream_id = metadata_stream(command.file_id)
    if isinstance(command, RecordExtractionFailure):
        return [
            command.context.event(
                MetadataFailed,
                stream_id=stream_id,
                file_id=command.file_id,
                code=command.error.code,
                detail=command.error.detail,
            )
        ]
    found = command.metadata
    return [
        command.context.event(
            MetadataExtracted,
            stream_id=stream_id,
            file_id=command.file_id,
            kind=kind_of(found),
            image=found if isinstance(found, ImageMetadata) else None,
            video=found if isinstance(found, VideoMetadata) else None,
            audio=found if isinstance(found, AudioMetadata) else None,
            pdf=found if isinstance(found, PdfMetadata) else None,
        )
    ]


def kind_of(found: Extracted) -> FileKind:
    """What the file turned out to be (an .m4a sniffs as video/mp4 and has audio only)."""
    if isinstance(found, ImageMetadata):
        return "image"
    if isinstance(found, VideoMetadata):
        return "video"
    if isinstance(found, AudioMetadata):
        return "audio"
    return "pdf"


def evolve(state: Extraction, event: Event) -> Extraction:
    if isinstance(event, MetadataExtracted | MetadataFailed):
        return Extraction(done=True)
    return state


DECIDER: Decider[Command, Extraction] = Decider(
    initial_state=Extraction(), decide=decide, evolve=evolve
)
