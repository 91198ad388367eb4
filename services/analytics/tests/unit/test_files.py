"""A file's facts folded from its events in stream order: one entry per file."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from mediaplane.analytics.domain.files import FileFacts, file_facts
from mediaplane.contracts import (
    Event,
    EventContext,
    FileDeleted,
    FileVerified,
    TranscodeCompleted,
    new_event,
)

A, B = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CONTEXT = EventContext(producer="test", correlation_id="c")


def _event(cls: type[Event], file_id: uuid.UUID, **fields: Any) -> Event:
    return new_event(
        cls, stream_id=f"file-{file_id}", context=CONTEXT, occurred_at=NOW, file_id=file_id,
        **fields,
    )  # fmt: skip


def verified(file_id: uuid.UUID, owner: str) -> Event:
    return _event(
        FileVerified, file_id, owner=owner, bucket="originals",
        object_key=f"{owner}/{file_id}/original", sha256="0" * 64, size=10,
        media_type="video/mp4", kind="video",
    )  # fmt: skip


def transcoded(file_id: uuid.UUID, duration: float) -> Event:
    return _event(
        TranscodeCompleted, file_id, job_id=uuid.uuid4(), bucket="renditions",
        master_playlist_key=f"{file_id}/m.m3u8", renditions=[], duration=duration, elapsed=1.0,
    )  # fmt: skip


def deleted(file_id: uuid.UUID) -> Event:
    return _event(FileDeleted, file_id, owner="alice", deleted_by="alice")


def test_each_file_gets_one_entry_with_what_its_events_said() -> None:
    facts = file_facts([verified(A, "alice"), transcoded(B, 8.0), transcoded(A, 5.0)])
    assert facts == [
        FileFacts(file_id=A, owner="alice", duration=5.0),
        FileFacts(file_id=B, duration=8.0),
    ]


def test_the_last_duration_wins_and_a_deletion_stays() -> None:
    facts = file_facts([transcoded(A, 5.0), deleted(A), transcoded(A, 9.0), verified(A, "bob")])
    assert facts == [FileFacts(file_id=A, owner="bob", duration=9.0, deleted=True)]


def test_no_events_no_facts() -> None:
    assert file_facts([]) == []
