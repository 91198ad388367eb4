"""What analytics knows of files, from the platform's events (idempotent upserts)."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from mediaplane.analytics.domain.admission import PlayableFile


async def file_owner(conn: AsyncConnection[Any], file_id: uuid.UUID, owner: str) -> None:
    await conn.execute(
        "INSERT INTO files (file_id, owner) VALUES (%s, %s)"
        " ON CONFLICT (file_id) DO UPDATE SET owner = EXCLUDED.owner",
        (file_id, owner),
    )


async def file_duration(conn: AsyncConnection[Any], file_id: uuid.UUID, duration: float) -> None:
    await conn.execute(
        "INSERT INTO files (file_id, duration) VALUES (%s, %s)"
        " ON CONFLICT (file_id) DO UPDATE SET duration = EXCLUDED.duration",
        (file_id, duration),
    )


async def file_deleted(conn: AsyncConnection[Any], file_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO files (file_id, deleted) VALUES (%s, true)"
        " ON CONFLICT (file_id) DO UPDATE SET deleted = true",
        (file_id,),
    )


async def playable_file(conn: AsyncConnection[Any], file_id: uuid.UUID) -> PlayableFile | None:
    cur = await conn.execute(
        "SELECT owner, duration, deleted FROM files WHERE file_id = %s", (file_id,)
    )
    row = await cur.fetchone()
    if row is None or row[0] is None:
        return None
    owner, duration, deleted = row
    return PlayableFile(owner=owner, duration=duration, deleted=deleted)
