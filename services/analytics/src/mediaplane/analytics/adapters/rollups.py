"""Folding beacon batches into `views` and the day rollups, one transaction per batch.

The rollups are set-based SQL over `views`, recomputed for the keys a batch
touched, so they are a function of the views whatever the batching.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from mediaplane.analytics.domain.rollup import ViewState, fold
from mediaplane.contracts import PlaybackBeacons

_VIEW_COLUMNS = (
    "started_at, last_at, state, rendition, startup_ms, playing_seconds, rebuffer_seconds,"
    " rebuffer_count, errors, max_position, rendition_seconds"
)
_MEASURES = """
    count(*),
    count(DISTINCT v.viewer),
    sum(v.playing_seconds + v.rebuffer_seconds),
    sum(v.rebuffer_seconds),
    coalesce(sum(v.startup_ms), 0),
    count(v.startup_ms),
    count(*) FILTER (WHERE v.errors > 0),
    coalesce((
        SELECT jsonb_object_agg(r.key, r.seconds) FROM (
            SELECT e.key, sum(e.value::float8) AS seconds
            FROM views w, jsonb_each_text(w.rendition_seconds) e
            WHERE {same} GROUP BY e.key
        ) r
    ), '{{}}'::jsonb)
"""
_MEASURE_COLUMNS = (
    "views, viewers, watch_seconds, rebuffer_seconds, startup_ms_sum, startup_count,"
    " error_views, rendition_seconds"
)


def _rollup_sql(table: str, keys: Sequence[str], key_types: Sequence[str]) -> str:
    same = " AND ".join(f"w.{k} = v.{k}" for k in keys)
    touched = ", ".join(f"%s::{t}[]" for t in key_types)
    key_list = ", ".join(keys)
    updates = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in _MEASURE_COLUMNS.split(","))
    extra = ", min(v.owner)" if table == "file_day" else ""
    extra_col = ", owner" if table == "file_day" else ""
    return (
        f"INSERT INTO {table} ({key_list}{extra_col}, {_MEASURE_COLUMNS}) "
        f"SELECT {', '.join('v.' + k for k in keys)}{extra}, {_MEASURES.format(same=same)} "
        f"FROM views v WHERE ({key_list}) IN (SELECT * FROM unnest({touched})) "
        f"GROUP BY {', '.join('v.' + k for k in keys)} "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}"
    )


def _from_file_days_sql(table: str, keys: Sequence[str], key_types: Sequence[str]) -> str:
    """An owner's or the platform's days as sums of the (just recomputed) file days:
    a few rows per file instead of every view of the day. Viewers alone come from
    the views (a viewer of two files is one viewer)."""
    touched = ", ".join(f"%s::{t}[]" for t in key_types)
    key_list = ", ".join(keys)
    grouped = ", ".join("f." + k for k in keys)
    same_file = " AND ".join(f"g.{k} = f.{k}" for k in keys)
    same_view = " AND ".join(f"v.{k} = f.{k}" for k in keys)
    updates = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in _MEASURE_COLUMNS.split(","))
    return (
        f"INSERT INTO {table} ({key_list}, {_MEASURE_COLUMNS}) "
        f"SELECT {grouped}, sum(f.views),"
        f" (SELECT count(DISTINCT v.viewer) FROM views v WHERE {same_view}),"
        " sum(f.watch_seconds), sum(f.rebuffer_seconds), sum(f.startup_ms_sum),"
        " sum(f.startup_count), sum(f.error_views),"
        " coalesce((SELECT jsonb_object_agg(r.key, r.seconds) FROM ("
        "  SELECT e.key, sum(e.value::float8) AS seconds"
        f"  FROM file_day g, jsonb_each_text(g.rendition_seconds) e WHERE {same_file}"
        "  GROUP BY e.key) r), '{}'::jsonb) "
        f"FROM file_day f WHERE ({key_list}) IN (SELECT * FROM unnest({touched})) "
        f"GROUP BY {grouped} "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}"
    )


FILE_DAY = _rollup_sql("file_day", ("file_id", "day"), ("uuid", "date"))
OWNER_DAY = _from_file_days_sql("owner_day", ("owner", "day"), ("text", "date"))
PLATFORM_DAY = _from_file_days_sql("platform_day", ("day",), ("date",))


async def apply_batches(conn: AsyncConnection[Any], batches: Sequence[PlaybackBeacons]) -> int:
    """Fold the batches not applied before, in order; returns how many were new.

    The caller holds the transaction. One writer at a time folds (the consumer's
    concurrency is 1), so batches of a view are folded in stream order.
    """
    if not batches:
        return 0
    cur = await conn.execute(
        "INSERT INTO applied_batches (event_id) SELECT unnest(%s::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        ([b.event_id for b in batches],),
    )
    new_ids = {row[0] for row in await cur.fetchall()}
    fresh = [b for b in batches if b.event_id in new_ids]
    if not fresh:
        return 0
    views = await _load_views(conn, list({b.view_id for b in fresh}))
    first: dict[uuid.UUID, PlaybackBeacons] = {}
    for batch in fresh:
        first.setdefault(batch.view_id, batch)
        views[batch.view_id] = fold(views.get(batch.view_id), batch.beacons)
    file_days = {(first[v].file_id, s.day) for v, s in views.items()}
    owner_days = {(first[v].owner, s.day) for v, s in views.items()}
    days = {s.day for s in views.values()}
    # One round trip for the writes: nothing below reads a result, and the server
    # runs them in order (the rollups see the views just stored).
    async with conn.pipeline():
        await _store_views(conn, views, first)
        await conn.execute(FILE_DAY, ([f for f, _ in file_days], [d for _, d in file_days]))
        await conn.execute(OWNER_DAY, ([o for o, _ in owner_days], [d for _, d in owner_days]))
        await conn.execute(PLATFORM_DAY, (sorted(days),))
    return len(fresh)


async def _load_views(
    conn: AsyncConnection[Any], view_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ViewState]:
    cur = await conn.execute(
        f"SELECT view_id, {_VIEW_COLUMNS} FROM views WHERE view_id = ANY(%s) FOR UPDATE",
        (view_ids,),
    )
    loaded = {}
    for row in await cur.fetchall():
        (
            view_id,
            started,
            last,
            state,
            rendition,
            startup,
            playing,
            rebuffer,
            rebuffers,
            errors,
            max_position,
            renditions,
        ) = row
        loaded[view_id] = ViewState(
            started_at=started,
            last_at=last,
            state=state,
            rendition=rendition,
            startup_ms=startup,
            playing_seconds=playing,
            rebuffer_seconds=rebuffer,
            rebuffer_count=rebuffers,
            errors=errors,
            max_position=max_position,
            rendition_seconds=renditions,
        )
    return loaded


async def _store_views(
    conn: AsyncConnection[Any],
    views: dict[uuid.UUID, ViewState],
    first: dict[uuid.UUID, PlaybackBeacons],
) -> None:
    columns = [c.strip() for c in _VIEW_COLUMNS.split(",")]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    async with conn.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO views (view_id, file_id, owner, viewer, day, {_VIEW_COLUMNS})"
            f" VALUES ({', '.join(['%s'] * (5 + len(columns)))})"
            f" ON CONFLICT (view_id) DO UPDATE SET {updates}",
            [
                (
                    view_id,
                    first[view_id].file_id,
                    first[view_id].owner,
                    first[view_id].viewer,
                    s.day,
                    s.started_at,
                    s.last_at,
                    s.state,
                    s.rendition,
                    s.startup_ms,
                    s.playing_seconds,
                    s.rebuffer_seconds,
                    s.rebuffer_count,
                    s.errors,
                    s.max_position,
                    Jsonb(s.rendition_seconds),
                )
                for view_id, s in views.items()
            ],
        )


async def reset_from(conn: AsyncConnection[Any], day: date) -> None:
    """Forget views and rollups from `day` on, and every applied batch: before a replay."""
    await conn.execute("TRUNCATE applied_batches")
    await conn.execute("DELETE FROM views WHERE day >= %s", (day,))
    for table in ("file_day", "owner_day", "platform_day"):
        await conn.execute(f"DELETE FROM {table} WHERE day >= %s", (day,))


async def prune_views(conn: AsyncConnection[Any], before: date) -> int:
    """Drop per-view rows older than `before` (their day rollups stay)."""
    cur = await conn.execute("DELETE FROM views WHERE day < %s", (before,))
    return cur.rowcount


async def prune_applied(conn: AsyncConnection[Any], before: datetime) -> int:
    """Forget the ids of batches applied before `before` (older than the stream keeps)."""
    cur = await conn.execute("DELETE FROM applied_batches WHERE applied_at < %s", (before,))
    return cur.rowcount
