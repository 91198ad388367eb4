"""Writing the ledger and the projections in one transaction per batch of events."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from psycopg import AsyncConnection

from mediaplane.catalog.adapters.projections import FILES, LIVE_LADDERS, PROJECTIONS, refresh
from mediaplane.catalog.adapters.status_sql import tags_in
from mediaplane.catalog.domain.entries import LedgerEntry
from mediaplane.contracts import TagCreated, TagCreatedV2

# Ingest batches hold this lock shared; a rebuild takes it exclusively for its final
# catch-up and swap, so no batch commits between the two.
REBUILD_LOCK = 0x63_6174_616C_6F67  # "catalog"
# Namespace of the per-key transaction locks (the two-int advisory lock space).
_KEY_LOCKS = 0x6361_7400  # "cat\0"
_KEY_SLOTS = 4096
CHANGES_CHANNEL = "catalog_changes"
_NOTIFY_LIMIT = 7000  # bytes per NOTIFY payload (Postgres refuses 8000 and more)

# The envelope columns are read from the bodies by the server: adapting lists of
# UUIDs and datetimes in Python cost more than the whole insert (measured ~3x).
# Two details halve the statement's time each (500 events: ~66 ms -> ~17 ms):
# - the arrays go in binary (`%b`): a text array literal of JSON bodies is all
#   backslash-escaped quotes, and parsing it cost more than the insert itself;
# - `OFFSET 0` keeps the subquery from being flattened: flattened, `b::jsonb` is
#   evaluated once per reference to `u.d` (nine), so every body was parsed nine times.
_INSERT = f"""
INSERT INTO ledger (event_id, type, known, stream_id, occurred_at, file_id, session_id, tag,
                    subject, stream_sequence, data)
SELECT (u.d->>'event_id')::uuid, u.d->>'type', u.known, u.d->>'stream_id',
       (u.d->>'occurred_at')::timestamptz, (u.d->>'file_id')::uuid,
       (u.d->>'session_id')::uuid,
       CASE WHEN u.d->>'type' {tags_in((TagCreated, TagCreatedV2))} THEN u.d->>'name' END,
       u.subject, u.stream_sequence, u.d
FROM (
    SELECT b::jsonb AS d, k AS known, s AS subject, q AS stream_sequence
    FROM unnest(%b::text[], %b::bool[], %b::text[], %b::int8[]) AS x(b, k, s, q)
    OFFSET 0
) u
ON CONFLICT (event_id) DO NOTHING
RETURNING type, known, file_id, session_id, tag, stream_id
"""

_CHANGED_FILES = """
SELECT file_id, owner, status, transcode_status, thumbnail_status, updated_at,
       transcode_progress
FROM files WHERE file_id = ANY(%b::uuid[])
"""


@dataclass(frozen=True, kw_only=True)
class IngestResult:
    inserted: int
    duplicates: int
    changed_files: int


class FileChange(msgspec.Struct, frozen=True, kw_only=True):
    """What the API's live stream learns about a file after a batch changed it."""

    file_id: uuid.UUID
    owner: str
    status: str
    transcode_status: str | None
    thumbnail_status: str | None
    updated_at: str
    transcode_progress: float | None = None  # percent, while the transcode runs


def _unique(entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    seen: dict[uuid.UUID, LedgerEntry] = {}
    for entry in entries:
        seen.setdefault(entry.event_id, entry)
    return list(seen.values())


async def ingest(conn: AsyncConnection[Any], entries: Sequence[LedgerEntry]) -> IngestResult:
    """Append `entries` to the ledger (known event ids skipped) and refresh what they touch.

    One transaction: either every new ledger row and its projection rows
    commit, or none do. Only keys of rows actually inserted are refreshed, so
    a redelivered batch does no projection work at all.
    """
    unique = _unique(entries)
    # Pipeline mode: statements whose results are not needed yet are sent without
    # waiting for the previous one; a batch waits on the server three times (the
    # insert's RETURNING, the changed files for NOTIFY, the commit), not ~18.
    async with conn.pipeline(), conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (REBUILD_LOCK,))
        # Binary results too: loading 500 rows of UUIDs from text cost ~2-3 ms more.
        cursor = conn.cursor(binary=True)
        await cursor.execute(
            _INSERT,
            (
                [e.body for e in unique],
                [e.known for e in unique],
                [e.subject for e in unique],
                [e.stream_sequence for e in unique],
            ),
        )
        inserted = await cursor.fetchall()
        keys = {name: p.keys_in(inserted) for name, p in PROJECTIONS.items()}
        await _lock_keys(conn, (k for ks in keys.values() for k in ks))
        for name, projection in PROJECTIONS.items():
            await refresh(conn, projection, keys[name])
        # A grown ladder changes no files row, but the file page must learn it plays now.
        changed = sorted({*keys[FILES.name], *keys[LIVE_LADDERS.name]}, key=str)
        await _notify(conn, changed)
    return IngestResult(
        inserted=len(inserted), duplicates=len(entries) - len(inserted), changed_files=len(changed)
    )


async def _lock_keys(conn: AsyncConnection[Any], keys: Iterable[object]) -> None:
    """Serialize concurrent batches (replicas) that refresh the same keys.

    Without it, two transactions each adding an event of one file would each
    recompute the file without the other's uncommitted event, and the later
    commit would win with a row missing a fact. Slots are taken in one sorted
    order, so two batches never deadlock.
    """
    slots = sorted({zlib.crc32(str(k).encode()) % _KEY_SLOTS for k in keys})
    if slots:
        await conn.execute(
            "SELECT count(pg_advisory_xact_lock(%s, s)) FROM unnest(%b::int4[]) s",
            (_KEY_LOCKS, slots),
        )


async def _notify(conn: AsyncConnection[Any], file_ids: Sequence[object]) -> None:
    """Tell API processes which files changed (delivered on commit, dropped on rollback)."""
    if not file_ids:
        return
    # Unprepared: rows picked by an array of keys (docs/service-conventions.md, "Array keys").
    cursor = await conn.execute(_CHANGED_FILES, (list(file_ids),), prepare=False)
    changes = [
        FileChange(
            file_id=row[0],
            owner=row[1],
            status=row[2],
            transcode_status=row[3],
            thumbnail_status=row[4],
            updated_at=row[5].isoformat(),
            transcode_progress=row[6],
        )
        for row in await cursor.fetchall()
    ]
    payloads: list[str] = []
    chunk: list[bytes] = []
    size = 2
    for change in changes:
        encoded = msgspec.json.encode(change)
        if chunk and size + len(encoded) + 1 > _NOTIFY_LIMIT:
            payloads.append((b"[" + b",".join(chunk) + b"]").decode())
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        payloads.append((b"[" + b",".join(chunk) + b"]").decode())
    await conn.execute(
        "SELECT count(pg_notify(%s, p)) FROM unnest(%s::text[]) p", (CHANGES_CHANNEL, payloads)
    )


def decode_changes(payload: str) -> list[FileChange]:
    return msgspec.json.decode(payload, type=list[FileChange])
