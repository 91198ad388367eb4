"""SQL of the variants: the projection of source files, and the record of variants made."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    VariantDropped,
    VariantFailed,
    VariantGenerated,
)
from mediaplane.eventlog import InlineProjection, Pool
from mediaplane.thumbnailer.domain.variant import Made

Conn = psycopg.AsyncConnection[Any]

# The status moves only up its ranks (uploaded < ready < rejected < deleted), whatever
# order the events arrive in.
_RANKED = """
INSERT INTO variant_sources AS s (file_id, owner, status, sha256, size, kind, media_type,
                                  bucket, object_key, updated_at)
VALUES (%(file_id)s, %(owner)s, %(status)s, %(sha256)s, %(size)s, %(kind)s, %(media_type)s,
        %(bucket)s, %(object_key)s, %(at)s)
ON CONFLICT (file_id) DO UPDATE SET
    status = CASE
        WHEN array_position('{uploaded,ready,rejected,deleted}'::text[], excluded.status)
             > array_position('{uploaded,ready,rejected,deleted}'::text[], s.status)
        THEN excluded.status ELSE s.status END,
    sha256 = coalesce(excluded.sha256, s.sha256),
    size = coalesce(excluded.size, s.size),
    kind = coalesce(excluded.kind, s.kind),
    media_type = coalesce(excluded.media_type, s.media_type),
    bucket = coalesce(excluded.bucket, s.bucket),
    object_key = coalesce(excluded.object_key, s.object_key),
    updated_at = greatest(s.updated_at, excluded.updated_at)
"""
SOURCE_EVENTS = (FileUploadedV2, FileVerified, FileRejected, FileDeleted)
_STATUS = {FileUploadedV2: "uploaded", FileVerified: "ready", FileRejected: "rejected"}


# A moderation decision: newer than the one recorded (or the first), it replaces it. A file
# not seen yet gets a row of the lowest status; its own events raise that later.
_MODERATED = """
INSERT INTO variant_sources AS s (file_id, owner, status, updated_at, taken_down,
                                  takedown_reason, moderated_at, moderation_event)
VALUES (%(file_id)s, %(owner)s, 'uploaded', %(at)s, %(taken_down)s, %(reason)s, %(at)s,
        %(event_id)s)
ON CONFLICT (file_id) DO UPDATE SET
    taken_down = excluded.taken_down,
    takedown_reason = excluded.takedown_reason,
    moderated_at = excluded.moderated_at,
    moderation_event = excluded.moderation_event
WHERE s.moderated_at IS NULL
   OR (excluded.moderated_at, excluded.moderation_event) > (s.moderated_at, s.moderation_event)
"""
MODERATION_EVENTS = (FileTakenDown, FileRestored)
PROJECTED_EVENTS = SOURCE_EVENTS + MODERATION_EVENTS


@dataclass(frozen=True, kw_only=True)
class Source:
    file_id: uuid.UUID
    owner: str
    status: str
    sha256: str | None
    size: int | None
    kind: str | None
    media_type: str | None
    bucket: str | None
    object_key: str | None
    updated_at: datetime
    takedown_reason: str | None = None  # set while a moderator has the file taken down


@dataclass(frozen=True, kw_only=True)
class Verified:
    """A ready source: what `file.verified.v1` said about its bytes."""

    file_id: uuid.UUID
    sha256: str
    size: int
    kind: str
    media_type: str
    bucket: str
    object_key: str


def verified(source: Source) -> Verified | None:
    """The source's verified bytes while it is ready; None otherwise."""
    s = source
    if s.status != "ready" or None in (
        s.sha256,
        s.size,
        s.kind,
        s.media_type,
        s.bucket,
        s.object_key,
    ):
        return None
    return Verified(
        file_id=s.file_id,
        sha256=str(s.sha256),
        size=int(s.size or 0),
        kind=str(s.kind),
        media_type=str(s.media_type),
        bucket=str(s.bucket),
        object_key=str(s.object_key),
    )


@dataclass(frozen=True, kw_only=True)
class VariantRecord:
    sha256: str
    spec: str
    file_id: uuid.UUID
    status: str
    bucket: str | None
    key: str | None
    width: int | None
    height: int | None
    format: str | None
    size: int | None
    failure_code: str | None
    failure_detail: str | None
    created_at: datetime


def made(record: VariantRecord) -> Made | None:
    """What a generated variant's row names; None for a failed one."""
    r = record
    if r.status != "generated" or None in (r.bucket, r.key, r.width, r.height, r.format):
        return None
    return Made(
        bucket=str(r.bucket),
        key=str(r.key),
        width=int(r.width or 0),
        height=int(r.height or 0),
        format=str(r.format),
        size=int(r.size or 0),
    )


ProjectedEvent = (
    FileUploadedV2 | FileVerified | FileRejected | FileDeleted | FileTakenDown | FileRestored
)


async def project(pool: Pool, events: Sequence[ProjectedEvent]) -> None:
    """Fold file events into `variant_sources`, in one transaction (idempotent and
    order-independent: a redelivered, late or reordered event changes nothing).

    One statement per event, pipelined: an upsert cannot touch the same row twice, and
    a batch may hold several events of one file."""
    sources = [_source_row(e) for e in events if isinstance(e, SOURCE_EVENTS)]
    decisions = [_decision_row(e) for e in events if isinstance(e, MODERATION_EVENTS)]
    if not (sources or decisions):
        return
    # One transaction: the pool's, committed as the connection is returned.
    async with pool.connection() as conn, conn.cursor() as cursor:
        if sources:
            await cursor.executemany(_RANKED, sources)
        if decisions:
            await cursor.executemany(_MODERATED, decisions)


def _source_row(
    event: FileUploadedV2 | FileVerified | FileRejected | FileDeleted,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "file_id": event.file_id,
        "owner": event.owner,
        "status": _STATUS.get(type(event), "deleted"),
        "sha256": None,
        "size": None,
        "kind": None,
        "media_type": None,
        "bucket": None,
        "object_key": None,
        "at": event.occurred_at,
    }
    if isinstance(event, FileVerified):
        row.update(
            sha256=event.sha256,
            size=event.size,
            kind=event.kind,
            media_type=event.media_type,
            bucket=event.bucket,
            object_key=event.object_key,
        )
    return row


def _decision_row(event: FileTakenDown | FileRestored) -> dict[str, Any]:
    taken_down = isinstance(event, FileTakenDown)
    return {
        "file_id": event.file_id,
        "owner": event.owner,
        "at": event.occurred_at,
        "taken_down": taken_down,
        "reason": event.reason if taken_down else None,
        "event_id": event.event_id,
    }


_LOOKUP = """
SELECT s.file_id, s.owner, s.status, s.sha256, s.size, s.kind, s.media_type, s.bucket,
       s.object_key, s.updated_at,
       CASE WHEN s.taken_down THEN s.takedown_reason END AS takedown_reason,
       v.spec AS v_spec, v.file_id AS v_file_id, v.status AS v_status, v.bucket AS v_bucket,
       v.key AS v_key, v.width AS v_width, v.height AS v_height, v.format AS v_format,
       v.size AS v_size, v.failure_code AS v_failure_code,
       v.failure_detail AS v_failure_detail, v.created_at AS v_created_at
FROM variant_sources s
LEFT JOIN variants v ON v.sha256 = s.sha256
    AND v.spec = CASE WHEN s.kind = 'video' THEN %(video)s ELSE %(still)s END
WHERE s.file_id = %(file_id)s
"""
_SOURCE_COLUMNS = (
    "file_id", "owner", "status", "sha256", "size", "kind", "media_type", "bucket",
    "object_key", "updated_at", "takedown_reason",
)  # fmt: skip


async def lookup(
    pool: Pool, file_id: uuid.UUID, *, video: str, still: str
) -> tuple[Source | None, VariantRecord | None]:
    """The file's source row and, in the same round trip, its variant named `video` (for a
    video) or `still` (for anything else): the whole of a cached answer's database work."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_LOOKUP, {"file_id": file_id, "video": video, "still": still})
        row = await cursor.fetchone()
    if row is None:
        return None, None
    found = Source(**{name: row[name] for name in _SOURCE_COLUMNS})
    if row["v_spec"] is None:
        return found, None
    return found, VariantRecord(
        sha256=str(found.sha256),
        **{name: row[f"v_{name}"] for name in _VARIANT_COLUMNS},
    )


_VARIANT_COLUMNS = (
    "spec", "file_id", "status", "bucket", "key", "width", "height", "format", "size",
    "failure_code", "failure_detail", "created_at",
)  # fmt: skip


async def variants_of(pool: Pool, sha256: str) -> list[VariantRecord]:
    """Every variant recorded for these source bytes (generated or failed)."""
    async with (
        pool.connection() as conn,
        conn.cursor(row_factory=class_row(VariantRecord)) as cursor,
    ):
        await cursor.execute(
            "SELECT sha256, spec, file_id, status, bucket, key, width, height, format, size,"
            " failure_code, failure_detail, created_at FROM variants"
            " WHERE sha256 = %s ORDER BY spec",
            (sha256,),
        )
        return await cursor.fetchall()


async def variant(pool: Pool, sha256: str, spec: str) -> VariantRecord | None:
    async with (
        pool.connection() as conn,
        conn.cursor(row_factory=class_row(VariantRecord)) as cursor,
    ):
        await cursor.execute(
            "SELECT sha256, spec, file_id, status, bucket, key, width, height, format, size,"
            " failure_code, failure_detail, created_at FROM variants"
            " WHERE sha256 = %s AND spec = %s",
            (sha256, spec),
        )
        return await cursor.fetchone()


_RECORD = """
INSERT INTO variants (sha256, spec, file_id, status, bucket, key, width, height, format, size,
                      failure_code, failure_detail, created_at)
VALUES (%(sha256)s, %(spec)s, %(file_id)s, %(status)s, %(bucket)s, %(key)s, %(width)s,
        %(height)s, %(format)s, %(size)s, %(code)s, %(detail)s, %(at)s)
ON CONFLICT (sha256, spec) DO NOTHING
"""


def variant_projection() -> InlineProjection:
    """The inline projection for `handle`: the variant's row, in the event's transaction."""

    async def project(conn: Conn, events: Sequence[Event]) -> None:
        for event in events:
            row: dict[str, Any] = {
                "bucket": None,
                "key": None,
                "width": None,
                "height": None,
                "format": None,
                "size": None,
                "code": None,
                "detail": None,
            }
            if isinstance(event, VariantGenerated):
                row.update(
                    status="generated",
                    bucket=event.bucket,
                    key=event.key,
                    width=event.width,
                    height=event.height,
                    format=event.format,
                    size=event.size,
                )
            elif isinstance(event, VariantFailed):
                row.update(status="failed", code=event.code, detail=event.detail)
            elif isinstance(event, VariantDropped):
                await conn.execute(
                    "DELETE FROM variants WHERE sha256 = %s AND spec = %s",
                    (event.sha256, event.spec),
                )
                continue
            else:
                continue
            row.update(
                sha256=event.sha256, spec=event.spec, file_id=event.file_id, at=event.occurred_at
            )
            await conn.execute(_RECORD, row)

    return project
