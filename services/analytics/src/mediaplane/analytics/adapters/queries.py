"""Reads of the rollups for the API."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg import AsyncConnection

from mediaplane.analytics.domain.rollup import Totals

_MEASURES = (
    "views, viewers, watch_seconds, rebuffer_seconds, startup_ms_sum, startup_count,"
    " error_views, rendition_seconds"
)


def _totals(row: Sequence[Any]) -> Totals:
    views, viewers, watch, rebuffer, startup_sum, startup_count, error_views, renditions = row
    return Totals(
        views=int(views),
        viewers=int(viewers),
        watch_seconds=float(watch),
        rebuffer_seconds=float(rebuffer),
        startup_ms_sum=int(startup_sum),
        startup_count=int(startup_count),
        error_views=int(error_views),
        rendition_seconds={k: float(v) for k, v in (renditions or {}).items()},
    )


async def file_days(
    conn: AsyncConnection[Any], file_id: uuid.UUID, since: date
) -> list[tuple[date, Totals]]:
    cur = await conn.execute(
        f"SELECT day, {_MEASURES} FROM file_day WHERE file_id = %s AND day >= %s ORDER BY day",
        (file_id, since),
    )
    return [(row[0], _totals(row[1:])) for row in await cur.fetchall()]


async def platform_days(conn: AsyncConnection[Any], since: date) -> list[tuple[date, Totals]]:
    cur = await conn.execute(
        f"SELECT day, {_MEASURES} FROM platform_day WHERE day >= %s ORDER BY day", (since,)
    )
    return [(row[0], _totals(row[1:])) for row in await cur.fetchall()]


async def owner_days(
    conn: AsyncConnection[Any], owner: str, since: date
) -> list[tuple[date, Totals]]:
    cur = await conn.execute(
        f"SELECT day, {_MEASURES} FROM owner_day WHERE owner = %s AND day >= %s ORDER BY day",
        (owner, since),
    )
    return [(row[0], _totals(row[1:])) for row in await cur.fetchall()]


async def reached_positions(conn: AsyncConnection[Any], file_id: uuid.UUID) -> list[float]:
    """Each kept view's furthest position (the retention curve's input)."""
    cur = await conn.execute("SELECT max_position FROM views WHERE file_id = %s", (file_id,))
    return [float(row[0]) for row in await cur.fetchall()]


async def worst_files(
    conn: AsyncConnection[Any], since: date, *, min_views: int, limit: int
) -> list[tuple[uuid.UUID, str, Totals]]:
    """Files with the worst quality of experience since `since`: rebuffer ratio first,
    then error rate, then startup time."""
    cur = await conn.execute(
        "SELECT file_id, min(owner), sum(views), 0, sum(watch_seconds), sum(rebuffer_seconds),"
        " sum(startup_ms_sum), sum(startup_count), sum(error_views), '{}'::jsonb"
        " FROM file_day WHERE day >= %s GROUP BY file_id HAVING sum(views) >= %s"
        " ORDER BY sum(rebuffer_seconds) / nullif(sum(watch_seconds), 0) DESC NULLS LAST,"
        " sum(error_views)::float8 / sum(views) DESC,"
        " sum(startup_ms_sum)::float8 / nullif(sum(startup_count), 0) DESC NULLS LAST,"
        " file_id LIMIT %s",
        (since, min_views, limit),
    )
    return [(row[0], row[1], _totals(row[2:])) for row in await cur.fetchall()]


async def file_duration(conn: AsyncConnection[Any], file_id: uuid.UUID) -> float | None:
    cur = await conn.execute("SELECT duration FROM files WHERE file_id = %s", (file_id,))
    row = await cur.fetchone()
    return None if row is None else row[0]


async def distinct_viewers(
    conn: AsyncConnection[Any], since: date, *, file_id: uuid.UUID | None = None
) -> int:
    """Distinct viewers of the kept views since `since` (of one file, or all)."""
    cur = await conn.execute(
        "SELECT count(DISTINCT viewer) FROM views WHERE day >= %s"
        " AND (%s::uuid IS NULL OR file_id = %s::uuid)",
        (since, file_id, file_id),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0
