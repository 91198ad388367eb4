"""Given events, then rows: the projections against a real Postgres."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from mediaplane.catalog.adapters.ledger import ingest
from mediaplane.catalog.adapters.projections import PROJECTIONS
from mediaplane.catalog.adapters.stats import projection_checksums
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.domain.entries import ledger_entry
from mediaplane.catalog.testing import (
    EPOCH,
    FileStory,
    entries,
    global_tag_created,
    synthetic_events,
    tag_created,
)

pytestmark = pytest.mark.integration


def rows(settings: CatalogSettings, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.database_url) as conn:
        return conn.execute(query, params).fetchall()


async def test_a_video_becomes_ready_with_renditions_thumbnails_and_tags(
    settings: CatalogSettings, ingest_events: Any
) -> None:
    story = FileStory(owner="alice", tags=["holiday", "beach"])
    story.opened().uploaded().verified().transcoded().thumbnailed().retagged(["sea"], ["beach"])

    result = await ingest_events(story.events)

    assert result.inserted == len(story.events)
    [file] = rows(
        settings,
        "SELECT owner, filename, kind, media_type, status, transcode_status, thumbnail_status, "
        "master_playlist_key, duration FROM files",
    )
    assert file == (
        "alice",
        "holiday.mp4",
        "video",
        "video/mp4",
        "ready",
        "ready",
        "ready",
        f"{story.file_id}/hls/master.m3u8",
        20.0,
    )
    assert rows(settings, "SELECT tag FROM file_tags ORDER BY tag") == [("holiday",), ("sea",)]
    assert rows(settings, "SELECT name, width FROM renditions ORDER BY name") == [
        ("360p", 640),
        ("720p", 1280),
    ]
    assert rows(settings, "SELECT name, key FROM thumbnails ORDER BY name") == [
        ("large", f"{story.file_id}/large.webp"),
        ("small", f"{story.file_id}/small.webp"),
    ]
    assert rows(settings, "SELECT status FROM upload_sessions") == [("completed",)]


async def test_each_lifecycle_status_follows_from_the_facts(
    settings: CatalogSettings, ingest_events: Any
) -> None:
    uploading = FileStory(owner="a", filename="u").opened()
    verifying = FileStory(owner="a", filename="v").opened().uploaded()
    rejected = FileStory(owner="a", filename="r").opened().uploaded().rejected()
    deleted = FileStory(owner="a", filename="d").opened().uploaded().verified().deleted().purged()
    failed = FileStory(owner="a", filename="f").opened().uploaded().verified()
    failed.transcode_failed().thumbnail_failed()
    pending = FileStory(owner="a", filename="p").opened().uploaded().verified()
    abandoned = FileStory(owner="a", filename="x").opened().aborted()
    expired = FileStory(owner="a", filename="e").opened().expired()
    stories = [uploading, verifying, rejected, deleted, failed, pending, abandoned, expired]

    await ingest_events([e for s in stories for e in s.events])

    assert rows(
        settings,
        "SELECT filename, status, rejection_code, transcode_status, transcode_error, "
        "thumbnail_status, thumbnail_error, purged FROM files ORDER BY filename",
    ) == [
        ("d", "deleted", None, "pending", None, "pending", None, True),
        ("f", "ready", None, "failed", "corrupt_input", "failed", "too_large", False),
        ("p", "ready", None, "pending", None, "pending", None, False),
        ("r", "rejected", "checksum_mismatch", None, None, None, None, False),
        ("u", "uploading", None, None, None, None, None, False),
        ("v", "verifying", None, None, None, None, None, False),
    ]
    assert rows(settings, "SELECT filename, status FROM upload_sessions ORDER BY filename") == [
        ("d", "completed"),
        ("e", "expired"),
        ("f", "completed"),
        ("p", "completed"),
        ("r", "completed"),
        ("u", "open"),
        ("v", "completed"),
        ("x", "aborted"),
    ]


async def test_the_same_event_three_times_has_one_effect(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    story = FileStory(owner="alice", kind="image").opened().uploaded().verified().thumbnailed()
    await ingest_events(story.events)
    async with pool.connection() as conn:
        before = await projection_checksums(conn)

    again = await ingest_events(story.events)
    third = await ingest_events(story.events + story.events)

    assert (again.inserted, again.duplicates, again.changed_files) == (0, len(story.events), 0)
    assert (third.inserted, third.changed_files) == (0, 0)
    assert rows(settings, "SELECT count(*) FROM ledger") == [(len(story.events),)]
    async with pool.connection() as conn:
        assert await projection_checksums(conn) == before


async def test_shuffled_cross_stream_orders_converge_to_the_same_rows(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    events = synthetic_events(600, owners=5, seed=3)
    await ingest_events(events)
    async with pool.connection() as conn:
        expected = await projection_checksums(conn)
    assert expected["files"].rows > 40
    assert expected["live_ladders"].rows > 0  # chunked ladders, some still encoding

    for seed in (1, 2):
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            # A fresh catalog: the ledger is append-only, so start from a new schema copy.
            conn.execute("ALTER TABLE ledger DISABLE TRIGGER ledger_append_only")
            conn.execute("TRUNCATE ledger, " + ", ".join(PROJECTIONS))
            conn.execute("ALTER TABLE ledger ENABLE TRIGGER ledger_append_only")
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        # Small uneven batches: each file's events arrive over several transactions.
        start = 0
        while start < len(shuffled):
            size = random.Random(seed + start).randrange(1, 40)
            await ingest_events(shuffled[start : start + size])
            start += size
        async with pool.connection() as conn:
            assert await projection_checksums(conn) == expected


async def test_thumbnail_before_the_file_is_known_is_projected_once_it_is(
    settings: CatalogSettings, ingest_events: Any
) -> None:
    story = FileStory(owner="alice", kind="image").opened().uploaded().verified().thumbnailed()
    thumbnail, rest = story.events[-1], story.events[:-1]

    await ingest_events([thumbnail])
    assert rows(settings, "SELECT count(*) FROM files") == [(0,)]
    await ingest_events(rest)

    assert rows(settings, "SELECT status, thumbnail_status FROM files") == [("ready", "ready")]
    assert rows(settings, "SELECT count(*) FROM thumbnails") == [(2,)]


async def test_tags_are_created_and_unknown_types_stay_in_the_ledger_only(
    settings: CatalogSettings, ingest_events: Any, pool: Any, registry: Any
) -> None:
    later = EPOCH + timedelta(seconds=1)
    await ingest_events(
        [
            tag_created("holiday", "bob", later),
            tag_created("holiday", "alice"),
            global_tag_created("beach", "carol"),
        ]
    )
    story = FileStory(owner="alice").opened()
    unknown = registry.encode(story.events[0]).replace(
        b'"upload.session.opened.v1"', b'"upload.session.renamed.v9"'
    )
    async with pool.connection() as conn:
        result = await ingest(conn, [ledger_entry(registry, "x.media.new", unknown)])

    assert result.inserted == 1
    assert rows(settings, "SELECT type, known FROM ledger WHERE NOT known") == [
        ("upload.session.renamed.v9", False)
    ]
    assert rows(settings, "SELECT count(*) FROM upload_sessions") == [(0,)]
    # Per owner: one tag each; v1's global tag is its creator's.
    assert rows(settings, "SELECT name, owner, created_at FROM tags ORDER BY name, owner") == [
        ("beach", "carol", EPOCH),
        ("holiday", "alice", EPOCH),
        ("holiday", "bob", later),
    ]


async def test_the_ledger_refuses_updates_and_deletes(
    settings: CatalogSettings, ingest_events: Any
) -> None:
    await ingest_events(FileStory(owner="alice").opened().events)
    with (
        psycopg.connect(settings.database_url) as conn,
        pytest.raises(psycopg.errors.RaiseException),
    ):
        conn.execute("DELETE FROM ledger")


async def test_the_file_key_is_the_verified_original_for_old_and_new_uploads(
    settings: CatalogSettings, ingest_events: Any
) -> None:
    new = FileStory(owner="a", filename="new").opened().uploaded().verified()
    waiting = FileStory(owner="a", filename="waiting").opened().uploaded()
    old = FileStory(owner="a", filename="old", legacy=True).opened().uploaded().verified()
    assert [e.tag() for e in old.events][2] == "file.uploaded.v1"

    await ingest_events(new.events + waiting.events + old.events)

    assert rows(settings, "SELECT filename, object_key, status FROM files ORDER BY filename") == [
        ("new", f"a/{new.file_id}/original", "ready"),
        ("old", f"a/{old.file_id}", "ready"),
        ("waiting", f"a/{waiting.file_id}/original", "verifying"),
    ]


@pytest.mark.parametrize("order", ["in order", "reversed"])
async def test_a_transcode_rerun_switches_to_the_newer_generation_only_once_complete(
    settings: CatalogSettings, ingest_events: Any, order: str
) -> None:
    """An admin's re-run is a second job on the file's transcode stream: while it runs, or
    after it failed, the first generation is served; once complete, the newer one,
    whatever order the events arrive in."""
    story = FileStory(owner="alice").opened().uploaded().verified().transcoded()
    first = story.events[-1].job_id  # type: ignore[attr-defined]
    second, third = uuid.uuid4(), uuid.uuid4()

    def served() -> tuple[Any, ...]:
        [file] = rows(settings, "SELECT transcode_status, transcode_error, mp4_key FROM files")
        return file

    async def feed(events: list[Any]) -> None:
        await ingest_events(events if order == "in order" else list(reversed(events)))

    await feed(list(story.events))
    assert served() == ("ready", None, story.mp4_key(first))
    mark = len(story.events)
    story.transcode_started(second)
    await feed(story.events[mark:])
    assert served() == ("ready", None, story.mp4_key(first))  # the re-run is not complete

    mark = len(story.events)
    story.transcode_completed(second).transcode_started(third).transcode_failure(third)
    await feed(story.events[mark:])
    # The newer complete generation; the failed third leaves it served.
    assert served() == ("ready", None, story.mp4_key(second))
    assert rows(settings, "SELECT count(*) FROM renditions") == [(2,)]


async def test_statements_picking_rows_by_an_array_of_keys_are_planned_for_each_batch(
    pool: Any, registry: Any
) -> None:
    """A plan Postgres cached while the tables were small scans them whole once they have
    grown (docs/service-conventions.md, "Array keys"), so those statements are never
    prepared; the projections' inserts, whose ledger filter always takes an index, are."""
    async with pool.connection() as conn:
        for _ in range(8):  # psycopg prepares a statement on its fifth run
            story = FileStory(owner="a", kind="image").opened().uploaded().verified()
            await ingest(conn, entries(registry, story.thumbnailed().events))
        cursor = await conn.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [" ".join(row[0].split()) for row in await cursor.fetchall()]

    assert any(s.startswith('INSERT INTO "files"') for s in prepared), prepared
    assert any(s.startswith('INSERT INTO "thumbnails"') for s in prepared), prepared
    by_keys = [s for s in prepared if "ANY(" in s and not s.startswith("INSERT")]
    assert by_keys == []
