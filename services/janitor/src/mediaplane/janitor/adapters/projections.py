"""The janitor's projection of sessions and file objects, and the sweeps' claims on it.

Projection writes are idempotent upserts; claims use FOR UPDATE SKIP LOCKED
so concurrent janitors split the work instead of repeating it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg
import structlog
from psycopg.rows import class_row

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    ThumbnailGenerated,
    TranscodeCompleted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.janitor.domain import objects
from mediaplane.janitor.domain.objects import ObjectRef
from mediaplane.janitor.domain.policy import retry_after

Conn = psycopg.AsyncConnection[Any]
_log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class SessionRow:
    session_id: uuid.UUID
    file_id: uuid.UUID
    mode: str
    bucket: str
    object_key: str
    upload_id: str | None
    correlation_id: str | None
    opened_event_id: uuid.UUID | None
    attempts: int


@dataclass(frozen=True, kw_only=True)
class FileRow:
    file_id: uuid.UUID
    correlation_id: str | None
    doom_event_id: uuid.UUID | None
    attempts: int


@dataclass(frozen=True, kw_only=True)
class ObjectRow:
    bucket: str
    key: str
    is_prefix: bool


# -- projection ----------------------------------------------------------------------------


async def first_deliveries(conn: Conn, events: Sequence[Event]) -> set[uuid.UUID]:
    """Record the events as processed, in one statement; the ids not recorded before (the
    others are redeliveries)."""
    cursor = await conn.execute(
        "INSERT INTO janitor_processed_events (event_id, type)"
        " SELECT * FROM unnest(%s::uuid[], %s::text[])"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        ([event.event_id for event in events], [event.tag() for event in events]),
    )
    return {row[0] for row in await cursor.fetchall()}


# What an applied event may mean for the purge sweep: "doomed", or the id of a file whose
# objects were recorded (work too if that file is already doomed), or nothing.
Effect = Literal["doomed"] | uuid.UUID | None


async def apply(conn: Conn, event: Event, buckets: frozenset[str]) -> Effect:
    """Project one event. Whether a file with new objects is doomed is asked once per
    batch (`any_doomed`): no statement here reads a result, so a batch runs in one
    pipeline."""
    if isinstance(event, UploadSessionOpened):
        await _session_opened(conn, event)
    elif isinstance(event, UploadSessionCompleted | UploadSessionAborted):
        status = "completed" if isinstance(event, UploadSessionCompleted) else "aborted"
        await _session_ended(conn, event.session_id, event.file_id, status, event.occurred_at)
    elif isinstance(event, FileDeleted | FileRejected):
        await _doom_file(conn, event)
        return "doomed"
    elif isinstance(event, FileTakenDown | FileRestored):
        await _moderate_file(conn, event)
    elif isinstance(event, FileUploadedV2):
        return await _add_objects(conn, event, objects.original_of(event), buckets)
    elif isinstance(event, FileVerified):
        await _ensure_file(conn, event.file_id, event.occurred_at)
        await conn.execute(
            "UPDATE janitor_files SET verified_at = %s WHERE file_id = %s AND verified_at IS NULL",
            (event.occurred_at, event.file_id),
        )
    elif isinstance(event, TranscodeCompleted):
        return await _add_objects(conn, event, objects.renditions_of(event), buckets)
    elif isinstance(event, ThumbnailGenerated):
        return await _add_objects(conn, event, objects.thumbnails_of(event), buckets)
    return None


async def any_doomed(conn: Conn, file_ids: Sequence[uuid.UUID]) -> bool:
    """Whether any of these files is doomed: objects announced for it after its deletion
    (a late thumbnail, say) are the purge sweep's work too."""
    if not file_ids:
        return False
    cursor = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM janitor_files"
        " WHERE file_id = ANY(%s) AND doomed_at IS NOT NULL)",
        (list(file_ids),),
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


async def _session_opened(conn: Conn, event: UploadSessionOpened) -> None:
    # A terminal status that arrived first stays; the details fill in.
    await conn.execute(
        "INSERT INTO janitor_sessions (session_id, file_id, status, mode, bucket, object_key,"
        " upload_id, expires_at, correlation_id, opened_event_id, updated_at)"
        " VALUES (%(session_id)s, %(file_id)s, 'open', %(mode)s, %(bucket)s, %(key)s,"
        " %(upload_id)s, %(expires_at)s, %(correlation_id)s, %(event_id)s, %(at)s)"
        " ON CONFLICT (session_id) DO UPDATE SET mode = excluded.mode, bucket = excluded.bucket,"
        " object_key = excluded.object_key, upload_id = excluded.upload_id,"
        " expires_at = excluded.expires_at, correlation_id = excluded.correlation_id,"
        " opened_event_id = excluded.opened_event_id",
        {
            "session_id": event.session_id,
            "file_id": event.file_id,
            "mode": event.mode,
            "bucket": event.bucket,
            "key": event.object_key,
            "upload_id": event.upload_id,
            "expires_at": event.expires_at,
            "correlation_id": event.correlation_id,
            "event_id": event.event_id,
            "at": event.occurred_at,
        },
    )


async def _session_ended(
    conn: Conn, session_id: uuid.UUID, file_id: uuid.UUID, status: str, at: datetime
) -> None:
    # The first terminal status wins: a completion reported after the janitor
    # expired the session does not make it look open or completed again.
    await conn.execute(
        "INSERT INTO janitor_sessions (session_id, file_id, status, updated_at)"
        " VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (session_id) DO UPDATE SET status = excluded.status,"
        " updated_at = excluded.updated_at WHERE janitor_sessions.status = 'open'",
        (session_id, file_id, status, at),
    )


async def _ensure_file(conn: Conn, file_id: uuid.UUID, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO janitor_files (file_id, updated_at) VALUES (%s, %s)"
        " ON CONFLICT (file_id) DO NOTHING",
        (file_id, at),
    )


async def _doom_file(conn: Conn, event: FileDeleted | FileRejected) -> None:
    doomed_by = "deleted" if isinstance(event, FileDeleted) else "rejected"
    await conn.execute(
        "INSERT INTO janitor_files (file_id, doomed_by, doomed_at, correlation_id,"
        " doom_event_id, updated_at) VALUES (%(file_id)s, %(by)s, %(at)s, %(correlation_id)s,"
        " %(event_id)s, %(at)s)"
        " ON CONFLICT (file_id) DO UPDATE SET doomed_by = excluded.doomed_by,"
        " doomed_at = excluded.doomed_at, correlation_id = excluded.correlation_id,"
        " doom_event_id = excluded.doom_event_id, updated_at = excluded.updated_at"
        " WHERE janitor_files.doomed_at IS NULL",
        {
            "file_id": event.file_id,
            "by": doomed_by,
            "at": event.occurred_at,
            "correlation_id": event.correlation_id,
            "event_id": event.event_id,
        },
    )


async def _moderate_file(conn: Conn, event: FileTakenDown | FileRestored) -> None:
    """Record the latest moderation decision: a takedown starts the retention clock, a
    restore stops it."""
    await _ensure_file(conn, event.file_id, event.occurred_at)
    await conn.execute(
        "UPDATE janitor_files SET taken_down_at = %(taken_down_at)s, moderated_at = %(at)s,"
        " moderation_event_id = %(event_id)s, moderation_correlation_id = %(correlation_id)s"
        " WHERE file_id = %(file_id)s AND (moderated_at IS NULL"
        " OR (moderated_at, moderation_event_id) < (%(at)s, %(event_id)s))",
        {
            "file_id": event.file_id,
            "taken_down_at": event.occurred_at if isinstance(event, FileTakenDown) else None,
            "at": event.occurred_at,
            "event_id": event.event_id,
            "correlation_id": event.correlation_id,
        },
    )


async def _add_objects(
    conn: Conn,
    event: FileUploadedV2 | TranscodeCompleted | ThumbnailGenerated,
    refs: list[ObjectRef],
    buckets: frozenset[str],
) -> Effect:
    kept = objects.managed(refs, buckets)
    if len(kept) < len(refs):
        _log.warning(
            "projection.unmanaged_bucket",
            file_id=str(event.file_id),
            buckets=sorted({r.bucket for r in refs} - buckets),
        )
    if not kept:
        return None
    await _ensure_file(conn, event.file_id, event.occurred_at)
    # A new announcement of a key means new bytes there (e.g. a re-transcode
    # after a purge): it must be purged again.
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "INSERT INTO janitor_file_objects (file_id, bucket, key, is_prefix, kind)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (file_id, bucket, key) DO UPDATE SET purged_at = NULL",
            [(event.file_id, r.bucket, r.key, r.is_prefix, r.kind) for r in kept],
        )
    return event.file_id


# -- expiry --------------------------------------------------------------------------------

_EXPIRED_SESSIONS = """
SELECT session_id, file_id, mode, bucket, object_key, upload_id, correlation_id,
       opened_event_id, attempts
FROM janitor_sessions
WHERE status = 'open' AND expires_at < %(cutoff)s AND bucket = %(bucket)s
  AND (retry_at IS NULL OR retry_at <= %(now)s)
ORDER BY expires_at
LIMIT %(limit)s
"""


async def expired_sessions(
    conn: Conn, *, cutoff: datetime, now: datetime, bucket: str, limit: int, claim: bool
) -> list[SessionRow]:
    """Open sessions past `cutoff`; with `claim`, locked (and skipped when another holds them)."""
    query = _EXPIRED_SESSIONS + (" FOR UPDATE SKIP LOCKED" if claim else "")
    params = {"cutoff": cutoff, "now": now, "bucket": bucket, "limit": limit}
    async with conn.cursor(row_factory=class_row(SessionRow)) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def mark_session_expired(conn: Conn, session_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE janitor_sessions SET status = 'expired', updated_at = %s WHERE session_id = %s",
        (now, session_id),
    )


async def defer_session(
    conn: Conn, row: SessionRow, now: datetime, first_delay: timedelta, error: str
) -> None:
    await conn.execute(
        "UPDATE janitor_sessions SET attempts = %s, retry_at = %s, last_error = %s"
        " WHERE session_id = %s",
        (
            row.attempts + 1,
            retry_after(now, row.attempts + 1, first_delay),
            error[:1000],
            row.session_id,
        ),
    )


# -- reconciliation ------------------------------------------------------------------------


async def known_upload_ids(conn: Conn, upload_ids: Sequence[str]) -> set[str]:
    """The upload ids some session (in any state) announced."""
    cursor = await conn.execute(
        "SELECT upload_id FROM janitor_sessions WHERE upload_id = ANY(%s)", (list(upload_ids),)
    )
    return {row[0] for row in await cursor.fetchall()}


async def claim_orphan(conn: Conn, bucket: str, upload_id: str, key: str, now: datetime) -> bool:
    """Take the orphan for this transaction; False when another janitor removed it already."""
    cursor = await conn.execute(
        "INSERT INTO janitor_orphan_uploads (bucket, upload_id, key, removed_at)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (bucket, upload_id) DO NOTHING RETURNING 1",
        (bucket, upload_id, key, now),
    )
    return await cursor.fetchone() is not None


# Staging objects of sessions whose URLs are dead (`expires_at` before the cutoff),
# once nobody needs them: aborted, or completed with the file settled (verified,
# or doomed: its purge takes the original). Only keys of the staging layout:
# an old-layout session's key is its file's original.
_UNSWEPT_STAGING = """
SELECT s.session_id, s.file_id, s.mode, s.bucket, s.object_key, s.upload_id,
       s.correlation_id, s.opened_event_id, s.attempts
FROM janitor_sessions s
WHERE s.staging_swept_at IS NULL AND s.status IN ('completed', 'aborted')
  AND s.expires_at < %(cutoff)s AND s.bucket = %(bucket)s AND s.object_key LIKE '%%/upload'
  AND (s.retry_at IS NULL OR s.retry_at <= %(now)s)
  AND (s.status = 'aborted'
       OR EXISTS (SELECT 1 FROM janitor_files f WHERE f.file_id = s.file_id
                  AND (f.verified_at IS NOT NULL OR f.doomed_at IS NOT NULL)))
ORDER BY s.expires_at
LIMIT %(limit)s
"""


async def unswept_staging(
    conn: Conn, *, cutoff: datetime, now: datetime, bucket: str, limit: int, claim: bool
) -> list[SessionRow]:
    """Ended sessions whose staging object may be left; with `claim`, locked (skipping held)."""
    query = _UNSWEPT_STAGING + (" FOR UPDATE SKIP LOCKED" if claim else "")
    params = {"cutoff": cutoff, "now": now, "bucket": bucket, "limit": limit}
    async with conn.cursor(row_factory=class_row(SessionRow)) as cursor:
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def mark_staging_swept(conn: Conn, session_id: uuid.UUID, now: datetime) -> None:
    await conn.execute(
        "UPDATE janitor_sessions SET staging_swept_at = %s, attempts = 0, retry_at = NULL,"
        " last_error = NULL WHERE session_id = %s",
        (now, session_id),
    )


# -- purge ---------------------------------------------------------------------------------

# NO KEY UPDATE rather than UPDATE: the projection's inserts of new objects
# (foreign key checks take KEY SHARE) do not wait for a purge in progress.
_DOOMED_FILES = """
SELECT f.file_id,
       CASE WHEN f.doomed_at IS NOT NULL THEN f.correlation_id
            ELSE f.moderation_correlation_id END AS correlation_id,
       CASE WHEN f.doomed_at IS NOT NULL THEN f.doom_event_id
            ELSE f.moderation_event_id END AS doom_event_id,
       f.attempts
FROM janitor_files f
WHERE (f.doomed_at IS NOT NULL OR f.taken_down_at <= %(taken_down_before)s)
  AND (f.retry_at IS NULL OR f.retry_at <= %(now)s)
  AND EXISTS (SELECT 1 FROM janitor_file_objects o
              WHERE o.file_id = f.file_id AND o.purged_at IS NULL)
ORDER BY coalesce(f.doomed_at, f.taken_down_at)
LIMIT %(limit)s
"""


async def doomed_files(
    conn: Conn,
    *,
    now: datetime,
    limit: int,
    claim: bool,
    taken_down_before: datetime | None = None,
) -> list[FileRow]:
    """Deleted or rejected files, and files taken down before `taken_down_before` (and not
    restored), with objects left; with `claim`, locked (skipping held ones)."""
    query = _DOOMED_FILES + (" FOR NO KEY UPDATE OF f SKIP LOCKED" if claim else "")
    async with conn.cursor(row_factory=class_row(FileRow)) as cursor:
        params = {"now": now, "limit": limit, "taken_down_before": taken_down_before}
        await cursor.execute(query, params)
        return await cursor.fetchall()


async def pending_objects(conn: Conn, file_id: uuid.UUID) -> list[ObjectRow]:
    async with conn.cursor(row_factory=class_row(ObjectRow)) as cursor:
        await cursor.execute(
            "SELECT bucket, key, is_prefix FROM janitor_file_objects"
            " WHERE file_id = %s AND purged_at IS NULL ORDER BY bucket, key",
            (file_id,),
        )
        return await cursor.fetchall()


async def mark_purged(
    conn: Conn, file_id: uuid.UUID, rows: Sequence[ObjectRow], now: datetime
) -> None:
    """Only the rows this purge handled: one announced meanwhile waits for the next round."""
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "UPDATE janitor_file_objects SET purged_at = %s"
            " WHERE file_id = %s AND bucket = %s AND key = %s",
            [(now, file_id, row.bucket, row.key) for row in rows],
        )
    await conn.execute(
        "UPDATE janitor_files SET attempts = 0, retry_at = NULL, last_error = NULL,"
        " updated_at = %s WHERE file_id = %s",
        (now, file_id),
    )


async def defer_file(
    conn: Conn, row: FileRow, now: datetime, first_delay: timedelta, error: str
) -> None:
    await conn.execute(
        "UPDATE janitor_files SET attempts = %s, retry_at = %s, last_error = %s WHERE file_id = %s",
        (
            row.attempts + 1,
            retry_after(now, row.attempts + 1, first_delay),
            error[:1000],
            row.file_id,
        ),
    )
