"""The job decider: given the stream's events, when a command, then the new events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from mediaplane.contracts import (
    EventContext,
    Thumbnail,
    ThumbnailFailed,
    ThumbnailGenerated,
    ThumbnailSource,
)
from mediaplane.domain import CommandContext
from mediaplane.thumbnailer.domain.errors import CorruptInput
from mediaplane.thumbnailer.domain.job import (
    DECIDER,
    RecordFailure,
    RecordThumbnails,
    thumbnail_key,
    thumbnail_stream,
)

FILE_ID = uuid.UUID("0190f5a2-0000-7000-8000-000000000001")
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CONTEXT = CommandContext(
    now=NOW,
    cause=EventContext(producer="thumbnailer", correlation_id="corr", causation_id="cause"),
)
THUMBS = [
    Thumbnail(name="small", width=160, height=120, format="webp", key="k/small.webp", size=10)
]
SOURCE = ThumbnailSource(width=4000, height=3000, format="jpeg")


def generate() -> RecordThumbnails:
    return RecordThumbnails(
        file_id=FILE_ID, bucket="thumbnails", thumbnails=THUMBS, source=SOURCE, context=CONTEXT
    )


def fail() -> RecordFailure:
    return RecordFailure(file_id=FILE_ID, error=CorruptInput("truncated"), context=CONTEXT)


def test_a_pending_job_records_its_thumbnails() -> None:
    [event] = DECIDER.decide(generate(), DECIDER.fold([]))
    assert isinstance(event, ThumbnailGenerated)
    assert event.stream_id == thumbnail_stream(FILE_ID) == f"thumbnail-{FILE_ID}"
    assert (event.file_id, event.bucket, event.thumbnails, event.source) == (
        FILE_ID,
        "thumbnails",
        THUMBS,
        SOURCE,
    )
    assert (event.correlation_id, event.causation_id, event.producer) == (
        "corr",
        "cause",
        "thumbnailer",
    )


def test_a_pending_job_records_a_failure_with_its_code() -> None:
    [event] = DECIDER.decide(fail(), DECIDER.fold([]))
    assert isinstance(event, ThumbnailFailed)
    assert (event.code, event.detail) == ("corrupt_input", "truncated")


def test_a_finished_job_decides_nothing_more() -> None:
    generated = DECIDER.decide(generate(), DECIDER.fold([]))
    failed = DECIDER.decide(fail(), DECIDER.fold([]))
    for history in (generated, failed):
        state = DECIDER.fold(history)
        assert DECIDER.decide(generate(), state) == []
        assert DECIDER.decide(fail(), state) == []
    assert DECIDER.fold(generated).status == "generated"
    assert DECIDER.fold(failed).status == "failed"


def test_keys_hold_no_user_text() -> None:
    assert thumbnail_key(FILE_ID, "large", "webp") == f"{FILE_ID}/large.webp"
