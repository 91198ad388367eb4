"""`catalog projections rebuild`: recompute projections from the ledger, swap them in atomically.

1. Shadow tables `<name>_shadow` are filled by the projections' own SQL over
   the whole ledger, in one REPEATABLE READ snapshot, without indexes (bulk
   insert, then index: several times faster than maintaining indexes row by row).
2. Indexes are created on them under `<index>_shadow` names.
3. One short transaction takes the rebuild lock exclusively (ingest batches
   hold it shared, so it waits for running batches and holds new ones),
   refreshes in the shadow tables the keys of ledger rows the snapshot did not
   see (committed during steps 1-2; found by their transaction id), renames
   the tables and indexes, and drops the old ones.

Readers keep reading the old tables until the swap; the swap holds an ACCESS
EXCLUSIVE lock for milliseconds. Ingestion pauses only during step 3.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from psycopg import AsyncConnection, sql

from mediaplane.catalog.adapters.ledger import REBUILD_LOCK
from mediaplane.catalog.adapters.projections import (
    PROJECTIONS,
    Projection,
    insert_statement,
    refresh,
)

_RUN_LOCK = REBUILD_LOCK + 1  # one rebuild at a time per database
_INDEX_DEF = re.compile(r"^(CREATE (?:UNIQUE )?INDEX) (\S+) ON (?:ONLY )?(\S+) (USING .*)$")
_log = structlog.get_logger(__name__)


class RebuildRunning(RuntimeError):
    """Another rebuild holds the lock; rebuilds of one database run one at a time."""


@dataclass(frozen=True, kw_only=True)
class RebuildReport:
    name: str
    rows: int
    caught_up_keys: int
    seconds: float


@dataclass(frozen=True)
class _Index:
    name: str
    definition: str
    primary: bool


def shadow(name: str) -> str:
    return f"{name}_shadow"


async def _indexes(conn: AsyncConnection[Any], table: str) -> list[_Index]:
    cursor = await conn.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid), x.indisprimary
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = %s::regclass ORDER BY i.relname
        """,
        (table,),
    )
    return [
        _Index(name, definition, primary) for name, definition, primary in await cursor.fetchall()
    ]


def _shadow_index(index: _Index, table: str) -> sql.Composed:
    match = _INDEX_DEF.match(index.definition)
    if match is None:
        raise ValueError(f"unexpected index definition: {index.definition}")
    create, _, _, rest = match.groups()
    return sql.SQL("{} {} ON {} {}").format(
        sql.SQL(create),
        sql.Identifier(shadow(index.name)),
        sql.Identifier(shadow(table)),
        sql.SQL(rest),
    )


async def rebuild(database_url: str, names: Sequence[str] = ()) -> list[RebuildReport]:
    """Rebuild the named projections (all when empty); returns what each one got."""
    unknown = set(names) - PROJECTIONS.keys()
    if unknown:
        raise ValueError(f"unknown projections {sorted(unknown)}; known: {sorted(PROJECTIONS)}")
    projections = [PROJECTIONS[n] for n in names] if names else list(PROJECTIONS.values())
    async with await AsyncConnection.connect(
        database_url, autocommit=True, application_name="catalog-rebuild"
    ) as conn:
        locked = await (
            await conn.execute("SELECT pg_try_advisory_lock(%s)", (_RUN_LOCK,))
        ).fetchone()
        if not locked or not locked[0]:
            raise RebuildRunning("another rebuild of this catalog is running")
        try:
            return await _rebuild(conn, projections)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_RUN_LOCK,))


async def _rebuild(
    conn: AsyncConnection[Any], projections: Sequence[Projection]
) -> list[RebuildReport]:
    started = time.perf_counter()
    indexes = {p.name: await _indexes(conn, p.name) for p in projections}
    for p in projections:
        table, copy = sql.Identifier(p.name), sql.Identifier(shadow(p.name))
        await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(copy))
        await conn.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)").format(
                copy, table
            )
        )

    rows: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        snap_row = await (await conn.execute("SELECT pg_current_snapshot()::text")).fetchone()
        assert snap_row is not None
        snapshot = str(snap_row[0])
        for p in projections:
            cursor = await conn.execute(
                insert_statement(p, sql.Identifier(shadow(p.name)), sql.SQL("true"))
            )
            rows[p.name] = cursor.rowcount
            _log.info("rebuild.filled", projection=p.name, rows=cursor.rowcount)

    for p in projections:
        for index in indexes[p.name]:
            await conn.execute(_shadow_index(index, p.name))
        await conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(shadow(p.name))))

    caught_up: dict[str, int] = {}
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (REBUILD_LOCK,))
        missed = await (
            await conn.execute(
                """
                SELECT type, known, file_id, session_id, tag, stream_id FROM ledger
                WHERE tx >= pg_snapshot_xmin(%(s)s::pg_snapshot)
                  AND NOT pg_visible_in_snapshot(tx, %(s)s::pg_snapshot)
                """,
                {"s": snapshot},
            )
        ).fetchall()
        for p in projections:
            keys = p.keys_in(missed)
            await refresh(conn, p, keys, table=shadow(p.name))
            caught_up[p.name] = len(keys)
        for p in projections:
            await _swap(conn, p.name, indexes[p.name])
    elapsed = time.perf_counter() - started
    return [
        RebuildReport(
            name=p.name, rows=rows[p.name], caught_up_keys=caught_up[p.name], seconds=elapsed
        )
        for p in projections
    ]


async def _swap(conn: AsyncConnection[Any], name: str, indexes: Sequence[_Index]) -> None:
    retired = sql.Identifier(f"{name}_retired")
    await conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(name), retired))
    await conn.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(shadow(name)), sql.Identifier(name)
        )
    )
    await conn.execute(sql.SQL("DROP TABLE {}").format(retired))
    for index in indexes:
        if index.primary:
            statement = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY USING INDEX {}")
            await conn.execute(
                statement.format(
                    sql.Identifier(name),
                    sql.Identifier(index.name),
                    sql.Identifier(shadow(index.name)),
                )
            )
        else:
            await conn.execute(
                sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                    sql.Identifier(shadow(index.name)), sql.Identifier(index.name)
                )
            )
