"""`catalog projections rebuild`: the ledger alone gives back exactly the live rows."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import psycopg
import pytest

from mediaplane.catalog.adapters.rebuild import RebuildRunning, rebuild
from mediaplane.catalog.adapters.stats import projection_checksums
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import (
    FileStory,
    global_tag_created,
    synthetic_events,
    tag_created,
)

pytestmark = pytest.mark.integration


async def test_rebuild_of_100k_events_gives_exactly_the_live_rows(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    events = synthetic_events(100_000, owners=200, seed=11)
    rng = random.Random(5)
    for start in range(0, len(events), 2000):
        # Disorder within each batch, as several producers' streams interleave.
        batch = events[start : start + 2000]
        rng.shuffle(batch)
        await ingest_events(batch)
    async with pool.connection() as conn:
        live = await projection_checksums(conn)
    assert live["files"].rows > 5000
    assert all(checksum.rows > 0 for checksum in live.values())

    started = time.perf_counter()
    reports = await rebuild(settings.database_url)
    elapsed = time.perf_counter() - started

    async with pool.connection() as conn:
        assert await projection_checksums(conn) == live
    assert {r.name: r.rows for r in reports} == {n: c.rows for n, c in live.items()}
    print(f"rebuilt {len(events)} events in {elapsed:.1f}s")


async def test_concurrent_batches_sharing_files_give_exactly_the_rebuilt_rows(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    # The ingest consumer writes two batches at once (and replicas more): shuffled
    # batches written four at a time share most of their files with each other.
    events = synthetic_events(20_000, owners=50, seed=23)
    random.Random(8).shuffle(events)
    batches = [events[start : start + 250] for start in range(0, len(events), 250)]
    for start in range(0, len(batches), 4):
        await asyncio.gather(*(ingest_events(batch) for batch in batches[start : start + 4]))
    async with pool.connection() as conn:
        live = await projection_checksums(conn)
    assert live["files"].rows > 1000

    await rebuild(settings.database_url)

    async with pool.connection() as conn:
        assert await projection_checksums(conn) == live


async def test_reads_and_ingestion_keep_working_during_a_rebuild(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    await ingest_events(synthetic_events(20_000, owners=20, seed=1))
    late = FileStory(owner="late").opened().uploaded().verified()
    reads = 0
    stop = asyncio.Event()

    async def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            async with pool.connection() as conn:
                cursor = await conn.execute("SELECT count(*) FROM files")
                row = await cursor.fetchone()
                assert row is not None
                assert row[0] > 0
            reads += 1
            await asyncio.sleep(0)

    async def writer() -> None:
        # Lands while the shadow tables fill: the final catch-up must project it.
        await asyncio.sleep(0.05)
        await ingest_events(late.events)

    task = asyncio.create_task(reader())
    try:
        _, reports = await asyncio.gather(writer(), rebuild(settings.database_url))
    finally:
        stop.set()
        await task

    assert reads > 0
    with psycopg.connect(settings.database_url) as conn:
        assert conn.execute(
            "SELECT status FROM files WHERE file_id = %s", (late.file_id,)
        ).fetchall() == [("ready",)]
    assert {r.name for r in reports} >= {"files", "file_tags"}


async def test_rebuild_of_one_projection_and_one_at_a_time(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    await ingest_events(synthetic_events(500, seed=2))
    async with pool.connection() as conn:
        before = await projection_checksums(conn)
        await conn.execute("SELECT pg_advisory_lock(%s)", (0x63_6174_616C_6F67 + 1,))
        with pytest.raises(RebuildRunning):
            await rebuild(settings.database_url, ["files"])
        await conn.execute("SELECT pg_advisory_unlock_all()")

    [report] = await rebuild(settings.database_url, ["files"])
    await rebuild(settings.database_url, ["files"])  # twice: index names come back the same

    assert report.name == "files"
    async with pool.connection() as conn:
        assert await projection_checksums(conn) == before
        indexes = await (
            await conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'files'")
        ).fetchall()
    assert sorted(i[0] for i in indexes) == [
        "files_all",
        "files_filename_trgm",
        "files_owner_live",
        "files_owner_status",
        "files_pkey",
    ]
    with pytest.raises(ValueError, match="unknown projections"):
        await rebuild(settings.database_url, ["nope"])


async def test_a_rebuild_replays_v1_global_tags_as_their_creators_own(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    await ingest_events(
        [
            global_tag_created("holiday", "alice"),
            tag_created("holiday", "bob"),
            tag_created("beach", "alice"),
        ]
    )
    async with pool.connection() as conn:
        live = await projection_checksums(conn)

    await rebuild(settings.database_url, ["tags"])

    async with pool.connection() as conn:
        assert await projection_checksums(conn) == live
        tags = await (await conn.execute("SELECT name, owner FROM tags ORDER BY 1, 2")).fetchall()
        indexes = await (
            await conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'tags'")
        ).fetchall()
    assert tags == [("beach", "alice"), ("holiday", "alice"), ("holiday", "bob")]
    assert sorted(i[0] for i in indexes) == ["tags_by_owner", "tags_pkey"]


async def test_a_rebuild_fills_the_failed_rerun_of_rows_projected_before_its_column(
    settings: CatalogSettings, ingest_events: Any, pool: Any
) -> None:
    rerun = FileStory(owner="alice").opened().uploaded().verified().transcoded()
    rerun.transcode_failed()
    first = FileStory(owner="alice").opened().uploaded().verified().transcode_failed()
    await ingest_events(rerun.events + first.events)
    async with pool.connection() as conn:
        live = await projection_checksums(conn)
        # As migration 0009 leaves the rows projected before it: the column is empty.
        await conn.execute("UPDATE files SET transcode_rerun_error = NULL")
        assert await projection_checksums(conn) != live

    await rebuild(settings.database_url, ["files"])

    async with pool.connection() as conn:
        assert await projection_checksums(conn) == live
        rows = await (
            await conn.execute("SELECT file_id, transcode_status, transcode_rerun_error FROM files")
        ).fetchall()
    assert set(rows) == {
        (rerun.file_id, "ready", "corrupt_input"),
        (first.file_id, "failed", None),
    }
