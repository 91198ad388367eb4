"""The janitor's projection of sessions and file objects, and the sweeps' claims on it.

Projection writes are set-based upserts, a constant number per batch (the batch folded
to one row per key by `domain.batch`); claims use FOR UPDATE SKIP LOCKED
so concurrent janitors split the work instead of repeating it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import class_row

from mediaplane.contracts import Event
from mediaplane.janitor.domain.batch import BatchChanges, FileChange, ObjectChange, SessionChange
from mediaplane.janitor.domain.policy import retry_after

Conn = psycopg.AsyncConnection[Any]


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
        " SELECT * FROM unnest(%b::uuid[], %b::text[])"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
        ([event.event_id for event in events], [event.tag() for event in events]),
    )
    return {row[0] for row in await cursor.fetchall()}


async def apply(conn: Conn, changes: BatchChanges) -> None:
    """Write a batch's changes: one statement per kind of write, whatever the batch holds.

    No statement reads a result (whether a file with new objects is doomed is asked
    once per batch, `any_doomed`), so a batch runs in one pipeline. The arrays go in
    binary: nothing to format or parse per element on either side.
    """
    if changes.sessions:
        await _write_sessions(conn, changes.sessions)
    with_objects = {r.file_id for r in changes.objects}
    if changes.files:
        await _write_files(conn, changes.files, with_objects)
    if changes.objects:
        await _write_objects(conn, changes.objects, list(with_objects))


async def any_doomed(conn: Conn, file_ids: Sequence[uuid.UUID]) -> bool:
    """Whether any of these files is doomed: objects announced for it after its deletion
    (a late thumbnail, say) are the purge sweep's work too."""
    if not file_ids:
        return False
    cursor = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM janitor_files"
        " WHERE file_id = ANY(%b::uuid[]) AND doomed_at IS NOT NULL)",
        (list(file_ids),),
        prepare=False,  # rows picked by an array of keys (docs/service-conventions.md)
    )
    row = await cursor.fetchone()
    return bool(row and row[0])


# The columns an `opened` brings; a row of the batch without one
# (`opened_event_id` NULL) leaves them as stored.
_SESSION_DETAILS = (
    "mode",
    "bucket",
    "object_key",
    "upload_id",
    "expires_at",
    "correlation_id",
    "opened_event_id",
)
_HAS_OPENED = "excluded.opened_event_id IS NOT NULL"
# The first terminal status wins: a completion reported after the janitor expired
# the session does not make it look open or completed again.
# (A terminal status that arrived before `opened` stays; the details fill in.)
_ENDS_OPEN = "janitor_sessions.status = 'open' AND excluded.status <> 'open'"
_SET_DETAILS = ", ".join(
    f"{c} = CASE WHEN {_HAS_OPENED} THEN excluded.{c} ELSE janitor_sessions.{c} END"
    for c in _SESSION_DETAILS
)
_UPSERT_SESSIONS = f"""
INSERT INTO janitor_sessions
    (session_id, file_id, status, updated_at, {", ".join(_SESSION_DETAILS)})
SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::text[], %b::timestamptz[], %b::text[],
                     %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::uuid[])
ON CONFLICT (session_id) DO UPDATE SET
    status = CASE WHEN {_ENDS_OPEN} THEN excluded.status ELSE janitor_sessions.status END,
    updated_at = CASE WHEN {_ENDS_OPEN} THEN excluded.updated_at
                 ELSE janitor_sessions.updated_at END,
    {_SET_DETAILS}
WHERE {_HAS_OPENED} OR ({_ENDS_OPEN})
"""


async def _write_sessions(conn: Conn, rows: Sequence[SessionChange]) -> None:
    await conn.execute(
        _UPSERT_SESSIONS,
        (
            [r.session_id for r in rows],
            [r.file_id for r in rows],
            [r.status for r in rows],
            [r.updated_at for r in rows],
            [r.mode for r in rows],
            [r.bucket for r in rows],
            [r.object_key for r in rows],
            [r.upload_id for r in rows],
            [r.expires_at for r in rows],
            [r.correlation_id for r in rows],
            [r.opened_event_id for r in rows],
        ),
    )


_FILE_COLUMNS = (
    "file_id uuid",
    "updated_at timestamptz",
    "doomed_by text",
    "doomed_at timestamptz",
    "correlation_id text",
    "doom_event_id uuid",
    "verified_at timestamptz",
    "taken_down_at timestamptz",
    "moderated_at timestamptz",
    "moderation_event_id uuid",
    "moderation_correlation_id text",
)
_FILE_ARRAYS = ", ".join(f"%b::{c.split()[1]}[]" for c in _FILE_COLUMNS)
_FILE_NAMES = [c.split()[0] for c in _FILE_COLUMNS]

# New files get the batch's values as they are (and `objects_pending` when the batch
# announces objects of theirs). DO NOTHING, not DO UPDATE: that would lock every
# existing row, and a file being purged (held FOR NO KEY UPDATE during its S3 calls)
# would stall the batch for a thumbnail, which only needs the row to exist.
_INSERT_FILES = f"""
INSERT INTO janitor_files ({", ".join(_FILE_NAMES)}, objects_pending)
SELECT * FROM unnest({_FILE_ARRAYS}, %b::bool[])
ON CONFLICT (file_id) DO NOTHING
"""
# Existing files: only rows the batch changes are written (and locked). Its own
# statement, with its own snapshot, so it sees a row another janitor committed while
# the insert waited on it. Rows the insert just wrote match none of the conditions.
_DOOMS = "f.doomed_at IS NULL AND u.doomed_at IS NOT NULL"
_VERIFIES = "f.verified_at IS NULL AND u.verified_at IS NOT NULL"
_MODERATES = (
    "u.moderated_at IS NOT NULL AND (f.moderated_at IS NULL"
    " OR (f.moderated_at, f.moderation_event_id) < (u.moderated_at, u.moderation_event_id))"
)
_DOOM_COLUMNS = ("doomed_by", "doomed_at", "correlation_id", "doom_event_id", "updated_at")
_MODERATION_COLUMNS = (
    "taken_down_at",
    "moderated_at",
    "moderation_event_id",
    "moderation_correlation_id",
)
_SET_DOOM = ", ".join(f"{c} = CASE WHEN {_DOOMS} THEN u.{c} ELSE f.{c} END" for c in _DOOM_COLUMNS)
_SET_MODERATION = ", ".join(
    f"{c} = CASE WHEN {_MODERATES} THEN u.{c} ELSE f.{c} END" for c in _MODERATION_COLUMNS
)
_UPDATE_FILES = f"""
UPDATE janitor_files f
SET {_SET_DOOM}, verified_at = coalesce(f.verified_at, u.verified_at), {_SET_MODERATION}
FROM unnest({_FILE_ARRAYS}) AS u({", ".join(_FILE_NAMES)})
WHERE f.file_id = u.file_id AND (({_DOOMS}) OR ({_VERIFIES}) OR ({_MODERATES}))
"""


def _file_arrays(rows: Sequence[FileChange]) -> tuple[list[Any], ...]:
    return (
        [r.file_id for r in rows],
        [r.updated_at for r in rows],
        [r.doomed_by for r in rows],
        [r.doomed_at for r in rows],
        [r.correlation_id for r in rows],
        [r.doom_event_id for r in rows],
        [r.verified_at for r in rows],
        [r.taken_down_at for r in rows],
        [r.moderated_at for r in rows],
        [r.moderation_event_id for r in rows],
        [r.moderation_correlation_id for r in rows],
    )


async def _write_files(
    conn: Conn, rows: Sequence[FileChange], with_objects: set[uuid.UUID]
) -> None:
    pending = [r.file_id in with_objects for r in rows]
    await conn.execute(_INSERT_FILES, (*_file_arrays(rows), pending))
    # Files the batch only announced objects of: an existing row stays as it is.
    changing = [r for r in rows if r.updates]
    if changing:
        # Unprepared, like every statement here that picks rows by an array of keys
        # (docs/service-conventions.md, "Array keys").
        await conn.execute(_UPDATE_FILES, _file_arrays(changing), prepare=False)


# A new announcement of a key means new bytes there (e.g. a re-transcode after a
# purge): it must be purged again. Its kind stays the first announcement's.
_UPSERT_OBJECTS = """
INSERT INTO janitor_file_objects (file_id, bucket, key, is_prefix, kind)
SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::bool[], %b::text[])
ON CONFLICT (file_id, bucket, key) DO UPDATE SET purged_at = NULL
"""


# The files of the announced objects are marked as having objects to purge, in three
# statements, in this order, so that a purge finishing concurrently (`mark_purged`)
# cannot clear the mark after missing the new objects: the KEY SHARE locks (the
# foreign key check takes them too, but not for a key announced again) make the
# purge's final FOR UPDATE wait for this transaction, or this transaction wait for
# the purge's commit; the update, a later statement, then reads the committed flag.
# KEY SHARE does not conflict with the purge's claim (FOR NO KEY UPDATE), and a file
# held by a purge has the flag set: nothing here waits for a purge's S3 calls.
_HOLD_FILES = "SELECT 1 FROM janitor_files WHERE file_id = ANY(%b::uuid[]) FOR KEY SHARE"
_MARK_PENDING = (
    "UPDATE janitor_files SET objects_pending = true"
    " WHERE file_id = ANY(%b::uuid[]) AND NOT objects_pending"
)


async def _write_objects(
    conn: Conn, rows: Sequence[ObjectChange], file_ids: Sequence[uuid.UUID]
) -> None:
    await conn.execute(
        _UPSERT_OBJECTS,
        (
            [r.file_id for r in rows],
            [r.bucket for r in rows],
            [r.key for r in rows],
            [r.is_prefix for r in rows],
            [r.kind for r in rows],
        ),
    )
    await conn.execute(_HOLD_FILES, (file_ids,), prepare=False)
    await conn.execute(_MARK_PENDING, (file_ids,), prepare=False)


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
        "SELECT upload_id FROM janitor_sessions WHERE upload_id = ANY(%s)",
        (list(upload_ids),),
        prepare=False,  # rows picked by an array of keys (docs/service-conventions.md)
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
# Read from the partial index `janitor_files_purge_queue` (its predicate is the first
# condition), in its order: the cost follows the files with objects left to purge,
# not every file ever purged.
_DOOMED_FILES = """
SELECT f.file_id,
       CASE WHEN f.doomed_at IS NOT NULL THEN f.correlation_id
            ELSE f.moderation_correlation_id END AS correlation_id,
       CASE WHEN f.doomed_at IS NOT NULL THEN f.doom_event_id
            ELSE f.moderation_event_id END AS doom_event_id,
       f.attempts
FROM janitor_files f
WHERE f.objects_pending AND (f.doomed_at IS NOT NULL OR f.taken_down_at IS NOT NULL)
  AND (f.doomed_at IS NOT NULL OR f.taken_down_at <= %(taken_down_before)s)
  AND (f.retry_at IS NULL OR f.retry_at <= %(now)s)
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
    """Only the rows this purge handled: one announced meanwhile waits for the next round
    (the file keeps `objects_pending`)."""
    async with conn.cursor() as cursor:
        await cursor.executemany(
            "UPDATE janitor_file_objects SET purged_at = %s"
            " WHERE file_id = %s AND bucket = %s AND key = %s",
            [(now, file_id, row.bucket, row.key) for row in rows],
        )
    # After the objects' row locks (taken first, as the projection's upsert does, so the
    # two never wait on each other in a cycle): wait for projections announcing objects
    # of the file (they hold KEY SHARE), so the next statement's snapshot sees them.
    await conn.execute("SELECT 1 FROM janitor_files WHERE file_id = %s FOR UPDATE", (file_id,))
    await conn.execute(
        "UPDATE janitor_files SET attempts = 0, retry_at = NULL, last_error = NULL,"
        " updated_at = %(now)s, objects_pending = EXISTS (SELECT 1 FROM janitor_file_objects"
        " WHERE file_id = %(file_id)s AND purged_at IS NULL) WHERE file_id = %(file_id)s",
        {"now": now, "file_id": file_id},
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
