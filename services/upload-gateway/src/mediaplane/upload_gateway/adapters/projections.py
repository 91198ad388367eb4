"""Inline projections (sessions and files per owner), updated in the append's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileUploaded,
    FileVerified,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.upload_gateway.domain.policy import OwnerUsage

Conn = psycopg.AsyncConnection[Any]

# The advisory lock serializes quota decisions of one owner until the transaction
# ends; taking it in the same statement as the read saves a round trip.
_LOCK_AND_USAGE = """
SELECT
  pg_advisory_xact_lock(hashtextextended(%(owner)s, 42)),
  (SELECT count(*) FROM gateway_files
    WHERE owner = %(owner)s AND status IN ('uploaded', 'verified')),
  (SELECT coalesce(sum(size), 0) FROM gateway_files
    WHERE owner = %(owner)s AND status IN ('uploaded', 'verified')),
  (SELECT count(*) FROM gateway_sessions
    WHERE owner = %(owner)s AND status = 'open' AND expires_at > %(now)s),
  (SELECT coalesce(sum(size), 0) FROM gateway_sessions
    WHERE owner = %(owner)s AND status = 'open' AND expires_at > %(now)s)
"""


async def lock_owner_usage(conn: Conn, owner: str, now: datetime) -> OwnerUsage:
    """The owner's usage, locked against concurrent opens until the transaction ends."""
    cursor = await conn.execute(_LOCK_AND_USAGE, {"owner": owner, "now": now})
    row = await cursor.fetchone()
    if row is None:
        return OwnerUsage()
    _, files, size, sessions, reserved = row
    return OwnerUsage(
        files=files, bytes=int(size), open_sessions=sessions, reserved_bytes=int(reserved)
    )


async def apply(conn: Conn, events: Sequence[Event]) -> None:
    for event in events:
        await _apply_one(conn, event)


async def _apply_one(conn: Conn, event: Event) -> None:
    at = event.occurred_at
    if isinstance(event, UploadSessionOpened):
        await conn.execute(
            "INSERT INTO gateway_sessions (session_id, file_id, owner, mode, size, status,"
            " expires_at, opened_at, updated_at) VALUES (%s, %s, %s, %s, %s, 'open', %s, %s, %s)"
            " ON CONFLICT (session_id) DO NOTHING",
            (
                event.session_id,
                event.file_id,
                event.owner,
                event.mode,
                event.size,
                event.expires_at,
                at,
                at,
            ),
        )
    elif isinstance(event, UploadSessionCompleted | UploadSessionAborted):
        status = "completed" if isinstance(event, UploadSessionCompleted) else "aborted"
        await conn.execute(
            "UPDATE gateway_sessions SET status = %s, updated_at = %s WHERE session_id = %s",
            (status, at, event.session_id),
        )
    elif isinstance(event, FileUploaded):
        await conn.execute(
            "INSERT INTO gateway_files (file_id, owner, size, status, updated_at)"
            " VALUES (%s, %s, %s, 'uploaded', %s) ON CONFLICT (file_id) DO NOTHING",
            (event.file_id, event.owner, event.size, at),
        )
    elif isinstance(event, FileVerified | FileRejected | FileDeleted):
        status = {FileVerified: "verified", FileRejected: "rejected", FileDeleted: "deleted"}[
            type(event)
        ]
        await conn.execute(
            "UPDATE gateway_files SET status = %s, updated_at = %s WHERE file_id = %s",
            (status, at, event.file_id),
        )
