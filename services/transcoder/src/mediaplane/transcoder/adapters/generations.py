"""The `retired_generations` table: folders of superseded generations, waiting out their
grace before the sweep deletes them.

A generation is retired in the transaction that records the newer completion: every other
finished job of the file (completed, or a failed re-run whose immediate deletion may have
left objects behind) not retired before. A running job is never retired (its worker may
still be uploading, and only one job of a file runs at a time anyway). Each job is retired
once (`transcode_jobs.retired_at`), so a redelivered or later completion neither duplicates
a row nor moves its deadline, nor brings back a folder the sweep already deleted.

Concurrent sweeps (one per worker replica) claim due rows with `FOR UPDATE SKIP LOCKED`:
each folder is taken by one sweep, the others skip it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, kw_only=True)
class RetiredFolder:
    file_id: uuid.UUID
    job_id: uuid.UUID
    prefix: str  # `<file_id>/<job_id>/` in the renditions bucket
    retired_at: datetime
    delete_after: datetime


_RETIRE = """
WITH superseded AS (
    UPDATE transcode_jobs SET retired_at = %(retired_at)s
    WHERE file_id = %(file_id)s AND job_id <> %(current)s
      AND status IN ('completed', 'failed') AND retired_at IS NULL
    RETURNING file_id, job_id
)
INSERT INTO retired_generations (file_id, job_id, prefix, retired_at, delete_after)
SELECT file_id, job_id, file_id::text || '/' || job_id::text || '/',
       %(retired_at)s, %(delete_after)s
FROM superseded
ON CONFLICT (file_id, job_id) DO NOTHING
"""

_COLUMNS = "file_id, job_id, prefix, retired_at, delete_after"

_CLAIM_DUE = f"""
SELECT {_COLUMNS} FROM retired_generations
WHERE delete_after <= %(now)s
ORDER BY delete_after
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

_OF_FILE = f"SELECT {_COLUMNS} FROM retired_generations WHERE file_id = %(file_id)s ORDER BY prefix"

_FORGET = "DELETE FROM retired_generations WHERE file_id = %(file_id)s AND job_id = %(job_id)s"


async def retire_others(
    conn: Conn,
    *,
    file_id: uuid.UUID,
    current: uuid.UUID,
    retired_at: datetime,
    delete_after: datetime,
) -> None:
    """Retire every finished generation of the file but `current` not retired yet."""
    await conn.execute(
        _RETIRE,
        {
            "file_id": file_id,
            "current": current,
            "retired_at": retired_at,
            "delete_after": delete_after,
        },
    )


async def claim_due(conn: Conn, *, now: datetime, limit: int) -> list[RetiredFolder]:
    """Lock up to `limit` folders due at `now` for the rest of the caller's transaction;
    folders another sweep holds are skipped."""
    async with conn.cursor(row_factory=class_row(RetiredFolder)) as cur:
        await cur.execute(_CLAIM_DUE, {"now": now, "limit": limit})
        return await cur.fetchall()


async def of_file(conn: Conn, file_id: uuid.UUID) -> list[RetiredFolder]:
    async with conn.cursor(row_factory=class_row(RetiredFolder)) as cur:
        await cur.execute(_OF_FILE, {"file_id": file_id})
        return await cur.fetchall()


async def forget(conn: Conn, folder: RetiredFolder) -> None:
    await conn.execute(_FORGET, {"file_id": folder.file_id, "job_id": folder.job_id})
