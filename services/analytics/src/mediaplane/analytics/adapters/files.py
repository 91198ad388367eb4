"""What analytics knows of files, from the platform's events (idempotent upserts)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from mediaplane.analytics.domain.admission import PlayableFile
from mediaplane.analytics.domain.files import FileFacts


async def record_files(conn: AsyncConnection[Any], facts: Sequence[FileFacts]) -> None:
    """Store a batch's facts over the known ones in one statement (idempotent upsert).

    A fact the batch did not carry (None) keeps the stored one, and a deletion
    sticks. Rows are written in file_id order: two worker replicas upserting
    overlapping batches then lock them in the same order and cannot deadlock.
    """
    if not facts:
        return
    ordered = sorted(facts, key=lambda f: f.file_id)
    await conn.execute(
        "INSERT INTO files (file_id, owner, duration, deleted)"
        " SELECT * FROM unnest(%s::uuid[], %s::text[], %s::float8[], %s::bool[])"
        " ON CONFLICT (file_id) DO UPDATE SET"
        " owner = coalesce(EXCLUDED.owner, files.owner),"
        " duration = coalesce(EXCLUDED.duration, files.duration),"
        " deleted = files.deleted OR EXCLUDED.deleted",
        (
            [f.file_id for f in ordered],
            [f.owner for f in ordered],
            [f.duration for f in ordered],
            [f.deleted for f in ordered],
        ),
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
