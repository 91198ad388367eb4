"""Folding beacon batches into `views` and the day rollups, one transaction per batch.

The file days are set-based SQL over `views`, recomputed for the keys a batch
touched; owner and platform days are sums of those, with distinct viewers counted
incrementally in per-day viewer sets. So they are a function of the views whatever
the batching.
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
    # Per touched key (LATERAL): an index lookup of that key's views. A semi-join
    # with the keys let the planner scan every view of every day for a few keys.
    # One aggregate row per key (no GROUP BY; HAVING drops a key without views):
    # grouped, the planner expected 100 groups per key, and the inflated cost set
    # off JIT compilation (~250 ms a statement on a day of 100,000 views).
    same = " AND ".join(f"w.{k} = t.{k}" for k in keys)
    same_touched = " AND ".join(f"v.{k} = t.{k}" for k in keys)
    touched = ", ".join(f"%s::{t}[]" for t in key_types)
    key_list = ", ".join(keys)
    updates = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in _MEASURE_COLUMNS.split(","))
    extra = ", min(v.owner)" if table == "file_day" else ""
    extra_col = ", owner" if table == "file_day" else ""
    return (
        f"INSERT INTO {table} ({key_list}{extra_col}, {_MEASURE_COLUMNS}) "
        f"SELECT {', '.join('t.' + k for k in keys)}, m.* "
        f"FROM unnest({touched}) AS t({key_list}), LATERAL ("
        f" SELECT {extra.lstrip(', ')}{', ' if extra else ''}{_MEASURES.format(same=same)} "
        f" FROM views v WHERE {same_touched} HAVING count(*) > 0) m "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}"
    )


def _from_file_days_sql(table: str, keys: Sequence[str], key_types: Sequence[str]) -> str:
    """An owner's or the platform's days as sums of the (just recomputed) file days:
    a few rows per file instead of every view of the day.

    Viewers are counted incrementally: the batch's (key, viewer) pairs go into
    `<table>_viewers`, and the day's `viewers` grows by the rows that insert added (a
    viewer of two files, or of an earlier batch, is there already and adds nothing).
    The parameters are those pairs, one per view of the batch; the touched keys are theirs.
    """
    columns = (*keys, "viewer")
    pairs = ", ".join(f"%s::{t}[]" for t in (*key_types, "text"))
    key_list = ", ".join(keys)
    grouped = ", ".join("f." + k for k in keys)
    same_file = " AND ".join(f"g.{k} = f.{k}" for k in keys)
    same_added = " AND ".join(f"a.{k} = f.{k}" for k in keys)
    updates = ", ".join(
        f"{c} = {table}.viewers + EXCLUDED.viewers" if c == "viewers" else f"{c} = EXCLUDED.{c}"
        for c in (c.strip() for c in _MEASURE_COLUMNS.split(","))
    )
    return (
        f"WITH batch AS (SELECT DISTINCT * FROM unnest({pairs}) AS b({', '.join(columns)})),"
        f" fresh AS (INSERT INTO {table}_viewers ({', '.join(columns)})"
        f"  SELECT {', '.join(columns)} FROM batch ON CONFLICT DO NOTHING RETURNING {key_list}),"
        f" added AS (SELECT {key_list}, count(*) AS viewers FROM fresh GROUP BY {key_list}) "
        f"INSERT INTO {table} ({key_list}, {_MEASURE_COLUMNS}) "
        f"SELECT {grouped}, sum(f.views), coalesce(max(a.viewers), 0),"
        " sum(f.watch_seconds), sum(f.rebuffer_seconds), sum(f.startup_ms_sum),"
        " sum(f.startup_count), sum(f.error_views),"
        " coalesce((SELECT jsonb_object_agg(r.key, r.seconds) FROM ("
        "  SELECT e.key, sum(e.value::float8) AS seconds"
        f"  FROM file_day g, jsonb_each_text(g.rendition_seconds) e WHERE {same_file}"
        "  GROUP BY e.key) r), '{}'::jsonb) "
        f"FROM file_day f LEFT JOIN added a ON {same_added} "
        f"WHERE ({grouped}) IN (SELECT {key_list} FROM batch) "
        f"GROUP BY {grouped} "
        f"ON CONFLICT ({key_list}) DO UPDATE SET {updates}"
    )


FILE_DAY = _rollup_sql("file_day", ("file_id", "day"), ("uuid", "date"))
OWNER_DAY = _from_file_days_sql("owner_day", ("owner", "day"), ("text", "date"))
PLATFORM_DAY = _from_file_days_sql("platform_day", ("day",), ("date",))
_VIEWER_TABLES = ("owner_day_viewers", "platform_day_viewers")
# A day's counters and its viewer sets are forgotten together (a replay counts both anew).
_DAY_TABLES = ("file_day", "owner_day", "platform_day", *_VIEWER_TABLES)


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
    # One (owner, day, viewer) per view: the owner and platform days count their viewers.
    owners = [first[v].owner for v in views]
    days = [s.day for s in views.values()]
    viewers = [first[v].viewer for v in views]
    # One round trip for the writes: nothing below reads a result, and the server
    # runs them in order (the rollups see the views just stored).
    async with conn.pipeline():
        await _store_views(conn, views, first)
        await conn.execute(FILE_DAY, ([f for f, _ in file_days], [d for _, d in file_days]))
        await conn.execute(OWNER_DAY, (owners, days, viewers))
        await conn.execute(PLATFORM_DAY, (days, viewers))
    return len(fresh)


async def _load_views(
    conn: AsyncConnection[Any], view_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ViewState]:
    cur = await conn.execute(
        f"SELECT view_id, {_VIEW_COLUMNS} FROM views WHERE view_id = ANY(%s) FOR UPDATE",
        (view_ids,),
        prepare=False,  # rows picked by an array of keys (docs/service-conventions.md)
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
    for table in _DAY_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE day >= %s", (day,))


async def prune_views(conn: AsyncConnection[Any], before: date) -> int:
    """Drop per-view rows and the day viewer sets older than `before`; returns the views.

    The day rollups stay, their `viewers` counters with them: no batch can reach
    those days again (the API refuses beacons older than 24 h)."""
    cur = await conn.execute("DELETE FROM views WHERE day < %s", (before,))
    for table in _VIEWER_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE day < %s", (before,))
    return cur.rowcount


async def prune_applied(conn: AsyncConnection[Any], before: datetime) -> int:
    """Forget the ids of batches applied before `before` (older than the stream keeps)."""
    cur = await conn.execute("DELETE FROM applied_batches WHERE applied_at < %s", (before,))
    return cur.rowcount
