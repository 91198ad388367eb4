"""The `thumbnail_jobs` table: which files are done, and the attempts on those that are not."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from mediaplane.contracts import (
    Event,
    FileReprocessRequestedV2,
    FileVerified,
    ThumbnailFailed,
    ThumbnailGenerated,
)
from mediaplane.eventlog import InlineProjection, Pool

Conn = psycopg.AsyncConnection[Any]

_START = """
INSERT INTO thumbnail_jobs (file_id, kind, media_type, source_event_id, status)
VALUES (%(file_id)s, %(kind)s, %(media_type)s, %(event_id)s, 'running')
ON CONFLICT (file_id) DO UPDATE SET attempts = thumbnail_jobs.attempts + 1
    WHERE thumbnail_jobs.status = 'running'
RETURNING attempts
"""

# A re-run request (a new source event id) starts the job again, once; its redeliveries
# count attempts while it runs and find it finished afterwards.
_RESTART = """
INSERT INTO thumbnail_jobs (file_id, kind, media_type, source_event_id, status)
VALUES (%(file_id)s, %(kind)s, %(media_type)s, %(event_id)s, 'running')
ON CONFLICT (file_id) DO UPDATE SET
    attempts = CASE WHEN thumbnail_jobs.source_event_id = excluded.source_event_id
                    THEN thumbnail_jobs.attempts + 1 ELSE 1 END,
    status = 'running', source_event_id = excluded.source_event_id,
    failure_code = NULL, failure_detail = NULL, finished_at = NULL
    WHERE thumbnail_jobs.source_event_id <> excluded.source_event_id
       OR thumbnail_jobs.status = 'running'
RETURNING attempts
"""

_FINISH = """
INSERT INTO thumbnail_jobs (file_id, kind, media_type, source_event_id, status,
                            failure_code, failure_detail, thumbnail_count, finished_at)
VALUES (%(file_id)s, %(kind)s, %(media_type)s, %(event_id)s, %(status)s,
        %(code)s, %(detail)s, %(count)s, %(at)s)
ON CONFLICT (file_id) DO UPDATE SET
    status = excluded.status, failure_code = excluded.failure_code,
    failure_detail = excluded.failure_detail, thumbnail_count = excluded.thumbnail_count,
    finished_at = excluded.finished_at
"""


async def finished(pool: Pool, file_id: uuid.UUID) -> bool:
    """Whether the file already has its outcome (generated or failed)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT status <> 'running' FROM thumbnail_jobs WHERE file_id = %s", (file_id,)
        )
        row = await cursor.fetchone()
    return bool(row and row[0])


async def start(
    pool: Pool, event: FileVerified | FileReprocessRequestedV2, *, rerun: bool = False
) -> int | None:
    """Count an attempt on the file's job; None when the job finished meanwhile (for a
    re-run: when this request's run finished)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            _RESTART if rerun else _START,
            {
                "file_id": event.file_id,
                "kind": event.kind,
                "media_type": event.media_type,
                "event_id": event.event_id,
            },
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else None


def outcome_projection(source: FileVerified | FileReprocessRequestedV2) -> InlineProjection:
    """The inline projection for `handle`: marks the job finished in the event's transaction."""

    async def project(conn: Conn, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, ThumbnailGenerated):
                await _finish(conn, source, event, "generated", None, None, len(event.thumbnails))
            elif isinstance(event, ThumbnailFailed):
                await _finish(conn, source, event, "failed", event.code, event.detail, None)

    return project


async def _finish(
    conn: Conn,
    source: FileVerified | FileReprocessRequestedV2,
    event: Event,
    status: str,
    code: str | None,
    detail: str | None,
    count: int | None,
) -> None:
    await conn.execute(
        _FINISH,
        {
            "file_id": source.file_id,
            "kind": source.kind,
            "media_type": source.media_type,
            "event_id": source.event_id,
            "status": status,
            "code": code,
            "detail": detail,
            "count": count,
            "at": event.occurred_at,
        },
    )
