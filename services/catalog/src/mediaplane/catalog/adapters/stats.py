"""`catalog ledger stats` and `catalog projections checksum`: what an operator checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg import AsyncConnection

from mediaplane.catalog.adapters.projections import PROJECTIONS, checksum


class LedgerStats(msgspec.Struct, frozen=True, kw_only=True):
    events: int
    unknown_types: int
    by_type: dict[str, int]
    first_occurred_at: datetime | None
    last_occurred_at: datetime | None
    last_ingested_at: datetime | None
    highest_stream_sequence: int | None
    bytes_on_disk: int


class TableChecksum(msgspec.Struct, frozen=True, kw_only=True):
    rows: int
    md5: str


async def ledger_stats(conn: AsyncConnection[Any]) -> LedgerStats:
    cursor = await conn.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE NOT known), min(occurred_at), max(occurred_at),
               max(ingested_at), max(stream_sequence), pg_total_relation_size('ledger')
        FROM ledger
        """
    )
    row = await cursor.fetchone()
    assert row is not None
    by_type = await (
        await conn.execute("SELECT type, count(*) FROM ledger GROUP BY type ORDER BY type")
    ).fetchall()
    return LedgerStats(
        events=row[0],
        unknown_types=row[1],
        by_type=dict(by_type),
        first_occurred_at=row[2],
        last_occurred_at=row[3],
        last_ingested_at=row[4],
        highest_stream_sequence=row[5],
        bytes_on_disk=row[6],
    )


async def projection_checksums(conn: AsyncConnection[Any]) -> dict[str, TableChecksum]:
    """Rows and digest of every projection: equal digests mean equal tables, in any order."""
    sums = {}
    for name in PROJECTIONS:
        rows, digest = await checksum(conn, name)
        sums[name] = TableChecksum(rows=rows, md5=digest)
    return sums
