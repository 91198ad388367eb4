"""Distinct viewers of the owner and platform days, counted from per-day viewer sets: a
batch reads its own views, not the day's; an upgraded database is backfilled; the prune
drops old viewer sets and keeps the days' counts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg import AsyncConnection

from mediaplane.analytics.adapters.rollups import apply_batches
from mediaplane.analytics.app.bootstrap import apply_migrations
from mediaplane.analytics.app.retention import prune
from mediaplane.analytics.config import AnalyticsSettings
from mediaplane.contracts import Beacon, EventContext, PlaybackBeacons, new_event
from mediaplane.eventlog.database import Pool

pytestmark = pytest.mark.integration

# Noon of a recent day: every view below starts on it.
DAY = (datetime.now(UTC) - timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)


def _view(file_id: uuid.UUID, owner: str, viewer: str, started: datetime = DAY) -> PlaybackBeacons:
    return new_event(
        PlaybackBeacons, stream_id="view",
        context=EventContext(producer="test", correlation_id="c"),
        occurred_at=started, view_id=uuid.uuid4(), file_id=file_id, owner=owner, viewer=viewer,
        beacons=[Beacon(kind="view_start", at=started, position=0),
                 Beacon(kind="view_end", at=started + timedelta(seconds=10), position=10)],
    )  # fmt: skip


async def _fold(pool: Pool, batches: Sequence[PlaybackBeacons], per_transaction: int) -> None:
    for i in range(0, len(batches), per_transaction):
        async with pool.connection() as conn, conn.transaction():
            await apply_batches(conn, batches[i : i + per_transaction])


def _seed(views: int) -> list[PlaybackBeacons]:
    """`views` views of DAY over 100 files of four owners by 1,000 viewers."""
    files = [uuid.uuid4() for _ in range(100)]
    return [_view(files[i % 100], f"owner{i % 4}", f"viewer{i % 1000}") for i in range(views)]


async def _rows(pool: Pool, sql: str) -> list[tuple[object, ...]]:
    async with pool.connection() as conn:
        return await (await conn.execute(sql)).fetchall()


async def _counts_match_the_views(pool: Pool) -> None:
    assert await _rows(pool, "SELECT owner, day, viewers FROM owner_day ORDER BY 1, 2") == (
        await _rows(
            pool,
            "SELECT owner, day, count(DISTINCT viewer) FROM views GROUP BY 1, 2 ORDER BY 1, 2",
        )
    )
    assert await _rows(pool, "SELECT day, viewers FROM platform_day ORDER BY 1") == (
        await _rows(pool, "SELECT day, count(DISTINCT viewer) FROM views GROUP BY 1 ORDER BY 1")
    )


async def _reads(conn: AsyncConnection[Any]) -> dict[str, int]:
    """Rows read by sequential scans and fetched through indexes, per table."""
    cur = await conn.execute(
        "SELECT relname, seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables"
        " WHERE relname IN ('views', 'owner_day_viewers', 'platform_day_viewers')"
    )
    return {name: int(n) for name, n in await cur.fetchall()}


async def test_a_batch_reads_its_own_views_not_the_days(
    settings: AnalyticsSettings, pool: Pool
) -> None:
    """20,000 views on the day, then a batch of 50 views of a new file: the rows the
    batch's transaction reads from `views` and the viewer sets (Postgres' own counters
    of this transaction) stay a few per view of the batch, not the day's."""
    await _fold(pool, _seed(20_000), per_transaction=2_000)
    async with pool.connection() as conn:
        await conn.execute("ANALYZE")  # plans from the seeded statistics, not autovacuum's timing
    new_file = uuid.uuid4()
    # Half of the batch's viewers watched the day already (on other files).
    batch = [_view(new_file, "owner0", f"viewer{k}" if k % 2 else f"new{k}") for k in range(50)]
    async with pool.connection() as conn, conn.transaction():
        # The backend's counters not flushed yet (earlier transactions of this
        # connection included): their growth over the fold is the fold's reads.
        before = await _reads(conn)
        assert await apply_batches(conn, batch) == 50
        after = await _reads(conn)
    read = {table: after.get(table, 0) - before.get(table, 0) for table in after}
    # The new file's day is recomputed from its 50 views (the rollup and its
    # rendition subquery read them); a recount of the day would read 20,000 twice.
    assert read["views"] <= 3 * len(batch), read
    assert read.get("owner_day_viewers", 0) <= len(batch), read
    assert read.get("platform_day_viewers", 0) <= len(batch), read
    assert await _rows(pool, "SELECT viewers FROM platform_day") == [(1_025,)]
    await _counts_match_the_views(pool)


async def test_an_upgraded_database_is_backfilled_from_its_views(
    settings: AnalyticsSettings, pool: Pool
) -> None:
    """The day rows as the recount left them, then the migration: the counters continue."""
    await _fold(pool, _seed(400), per_transaction=100)
    async with pool.connection() as conn:
        await conn.execute("DROP TABLE owner_day_viewers, platform_day_viewers")
        await conn.execute(
            "DELETE FROM schema_migrations WHERE namespace = 'analytics' AND name LIKE '0003_%'"
        )
    assert [m for m in await apply_migrations(settings) if "0003" in m]
    known = await _rows(pool, "SELECT count(*) FROM owner_day_viewers")
    assert known == [(400,)]  # 4 owners x 100 viewers each (viewer i watches owner i % 4)

    await _fold(pool, [_view(uuid.uuid4(), "owner1", v) for v in ("viewer1", "viewer2")], 10)
    assert await _rows(pool, "SELECT viewers FROM owner_day WHERE owner = 'owner1'") == [(101,)]
    assert await _rows(pool, "SELECT viewers FROM platform_day") == [(400,)]
    await _counts_match_the_views(pool)


async def test_the_prune_drops_old_viewer_sets_and_keeps_the_days_viewers(
    settings: AnalyticsSettings, pool: Pool
) -> None:
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=100), now - timedelta(hours=1)
    film = uuid.uuid4()
    await _fold(
        pool,
        [_view(film, "alice", v, started) for started in (old, recent) for v in ("bob", "eve")],
        per_transaction=10,
    )
    days = "SELECT day, viewers FROM {} ORDER BY day"
    before = [await _rows(pool, days.format(t)) for t in ("owner_day", "platform_day")]
    assert before[1] == [(old.date(), 2), (recent.date(), 2)]

    await prune(pool, now)

    assert [await _rows(pool, days.format(t)) for t in ("owner_day", "platform_day")] == before
    for table in ("owner_day_viewers", "platform_day_viewers"):
        kept = await _rows(pool, f"SELECT DISTINCT day FROM {table}")
        assert kept == [(recent.date(),)], table
