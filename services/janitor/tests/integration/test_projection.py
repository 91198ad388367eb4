"""The projection handler applied directly (the unit is one transaction per event)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import psycopg
import pytest

from mediaplane.contracts import REGISTRY, Event, FileUploaded
from mediaplane.janitor.config import JanitorSettings

pytestmark = pytest.mark.integration


def as_consumed(event: Event) -> Event:
    """What the consumer hands the handler: the newest version (v1 events upcast)."""
    return REGISTRY.from_builtins(REGISTRY.to_builtins(event))


def file_objects(settings: JanitorSettings) -> list[tuple[str, str, str, bool]]:
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT bucket, key, kind, purged_at IS NULL FROM janitor_file_objects ORDER BY key"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def test_a_redelivered_event_changes_nothing_and_late_objects_wake_the_purge(
    settings: JanitorSettings, make_janitor: Any, events: Any
) -> None:
    file_id = uuid.uuid4()
    deleted = events.deleted(file_id)
    async with make_janitor() as janitor:
        project = janitor.service.project
        assert await project(as_consumed(events.uploaded(file_id, f"alice/{file_id}"))) is False
        assert await project(deleted) is True
        assert await project(deleted) is False  # redelivery: already applied
        # A thumbnail of a file already deleted: the purge has new work.
        assert await project(events.thumbnails(file_id, [f"{file_id}/s.webp"])) is True
        registry = janitor.service.metrics.registry
        assert (
            registry.get_sample_value("janitor_projected_events_total", {"type": "file.deleted.v1"})
            == 1
        )
    assert sorted(file_objects(settings)) == sorted(
        [
            (settings.thumbnails_bucket, f"{file_id}/s.webp", "thumbnail", True),
            (settings.originals_bucket, f"alice/{file_id}", "original", True),
        ]
    )


async def test_objects_in_buckets_the_janitor_does_not_manage_are_never_recorded(
    settings: JanitorSettings, make_janitor: Any, events: Any
) -> None:
    file_id = uuid.uuid4()
    uploaded: FileUploaded = events.uploaded(file_id, f"alice/{file_id}")
    foreign = msgspec.structs.replace(uploaded, bucket="someone-elses")
    async with make_janitor() as janitor:
        await janitor.service.project(events.deleted(file_id))
        assert await janitor.service.project(as_consumed(foreign)) is False
        assert await janitor.service.purge_files() == []
    assert file_objects(settings) == []
