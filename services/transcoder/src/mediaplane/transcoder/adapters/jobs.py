"""The `transcode_jobs` table: idempotency per (file, source hash, request) and the lease on
a job. The request is an admin's re-run (`file.reprocess_requested`, its event id), or the
nil UUID for the job `file.verified` asks for: each re-run is a new job, a new generation.

A worker claims a job by taking its lease; it renews the lease while it works.
A lease that ran out means its worker died (or lost Postgres): the next
delivery of the job's event takes the job over. Every write that ends or
hands back a job checks the caller still holds the lease, so a worker that
lost its job can never overwrite the outcome of the worker that took it over.

Claims of one owner's jobs are serialised by a transaction-scoped advisory
lock, so replicas counting the owner's running jobs never both take the last
free slot. Only live leases count: a dead worker's slot frees itself. Under the
same lock, a job waits (`file_busy`) while another job of the same file runs: the
generations of a file's renditions finish in the order they started, so the
newest completed is the newest requested.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from mediaplane.transcoder.domain.owners import OwnerLimit

Conn = psycopg.AsyncConnection[Any]


# The request of the job `file.verified` asks for (a re-run's is its request's event id).
VERIFIED_JOB = uuid.UUID(int=0)


@dataclass(frozen=True, kw_only=True)
class Claimed:
    job_id: uuid.UUID
    attempts: int


@dataclass(frozen=True, kw_only=True)
class NotClaimed:
    """Why there is nothing to do (`finished`, `duplicate`) or not yet (`busy`: the job's
    lease is live; `owner_busy`: the owner has as many jobs running as allowed;
    `file_busy`: another job of the file runs, which a re-run waits for)."""

    job_id: uuid.UUID
    reason: Literal["finished", "duplicate", "busy", "owner_busy", "file_busy"]
    status: str
    detail: str = ""


_OWNER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('transcoder-owner:' || %(owner)s, 0))"

_INSERT = """
INSERT INTO transcode_jobs (file_id, source_sha256, request_id, job_id, event_id, status, owner)
VALUES (%(file_id)s, %(sha256)s, %(request_id)s, %(job_id)s, %(event_id)s, 'queued', %(owner)s)
ON CONFLICT (file_id, source_sha256, request_id) DO NOTHING
"""

_RUNNING_FOR_OWNER = """
SELECT count(*) AS running FROM transcode_jobs
WHERE owner = %(owner)s AND status = 'running' AND lease_until > now()
"""

_LOCK = """
SELECT job_id, event_id, status, lease_until > now() AS leased
FROM transcode_jobs
WHERE file_id = %(file_id)s AND source_sha256 = %(sha256)s AND request_id = %(request_id)s
FOR UPDATE
"""

# Another generation of the file's renditions being made now (a live lease).
_OTHER_RUNNING = """
SELECT job_id FROM transcode_jobs
WHERE file_id = %(file_id)s AND job_id <> %(job_id)s AND status = 'running'
  AND lease_until > now()
LIMIT 1
"""

_TAKE = """
UPDATE transcode_jobs
SET status = 'running', attempts = attempts + 1, worker = %(worker)s, event_id = %(event_id)s,
    owner = %(owner)s,
    lease_until = now() + make_interval(secs => %(lease)s), updated_at = now()
WHERE job_id = %(job_id)s
RETURNING attempts
"""


async def claim(
    conn: Conn,
    *,
    file_id: uuid.UUID,
    sha256: str,
    event_id: uuid.UUID,
    owner: str,
    owner_limit: OwnerLimit,
    worker: str,
    lease_seconds: float,
    new_job_id: uuid.UUID,
    request_id: uuid.UUID = VERIFIED_JOB,
) -> Claimed | NotClaimed:
    """Create the job if it is new, then take it unless it is finished, leased elsewhere,
    or its owner already has as many jobs running as `owner_limit` admits, or another
    job of the file runs (`file_busy`: a re-run waits for the generation before it).

    A live lease held for another event means this event is a duplicate: the
    owner's own deliveries see the job through. A live lease for this very
    event means its previous delivery's worker may still be alive: `busy`.
    """
    params = {
        "file_id": file_id,
        "sha256": sha256,
        "event_id": event_id,
        "owner": owner,
        "job_id": new_job_id,
        "worker": worker,
        "lease": lease_seconds,
        "request_id": request_id,
    }
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(_OWNER_LOCK, params)
        await cursor.execute(_INSERT, params)
        await cursor.execute(_LOCK, params)
        row = await cursor.fetchone()
        assert row is not None  # inserted above or already there, and rows are never deleted
        job_id: uuid.UUID = row["job_id"]
        if row["status"] in ("completed", "failed"):
            return NotClaimed(job_id=job_id, reason="finished", status=row["status"])
        if row["status"] == "running" and row["leased"]:
            reason: Literal["duplicate", "busy"] = (
                "duplicate" if row["event_id"] != event_id else "busy"
            )
            return NotClaimed(job_id=job_id, reason=reason, status=row["status"])
        await cursor.execute(_OTHER_RUNNING, {**params, "job_id": job_id})
        if (other := await cursor.fetchone()) is not None:
            return NotClaimed(
                job_id=job_id,
                reason="file_busy",
                status=row["status"],
                detail=f"job {other['job_id']} of the file runs first",
            )
        await cursor.execute(_RUNNING_FOR_OWNER, params)
        counted = await cursor.fetchone()
        running = int(counted["running"]) if counted else 0
        if not owner_limit.admits(running):
            return NotClaimed(
                job_id=job_id,
                reason="owner_busy",
                status=row["status"],
                detail=owner_limit.reason(owner, running),
            )
        await cursor.execute(_TAKE, {**params, "job_id": job_id})
        taken = await cursor.fetchone()
        assert taken is not None
        return Claimed(job_id=job_id, attempts=int(taken["attempts"]))


async def renew(conn: Conn, *, job_id: uuid.UUID, worker: str, lease_seconds: float) -> bool:
    """Extend the lease; False when the job is no longer this worker's."""
    cursor = await conn.execute(
        "UPDATE transcode_jobs SET lease_until = now() + make_interval(secs => %s)"
        " WHERE job_id = %s AND worker = %s AND status = 'running' RETURNING 1",
        (lease_seconds, job_id, worker),
    )
    return await cursor.fetchone() is not None


async def release(conn: Conn, *, job_id: uuid.UUID, worker: str) -> None:
    """Hand the job back (shutdown, transient error): the next delivery takes it at once."""
    await conn.execute(
        "UPDATE transcode_jobs SET status = 'queued', worker = NULL, lease_until = NULL,"
        " updated_at = now() WHERE job_id = %s AND worker = %s AND status = 'running'",
        (job_id, worker),
    )


async def lock_held(conn: Conn, *, job_id: uuid.UUID, worker: str) -> bool:
    """Lock the job row for the caller's transaction if this worker still holds it."""
    cursor = await conn.execute(
        "SELECT 1 FROM transcode_jobs WHERE job_id = %s AND worker = %s AND status = 'running'"
        " FOR UPDATE",
        (job_id, worker),
    )
    return await cursor.fetchone() is not None


async def finish(
    conn: Conn,
    *,
    job_id: uuid.UUID,
    status: Literal["completed", "failed"],
    failure: tuple[str, str] | None = None,
    master_playlist_key: str | None = None,
) -> None:
    await conn.execute(
        "UPDATE transcode_jobs SET status = %s, failure_code = %s, failure_detail = %s,"
        " master_playlist_key = %s, worker = NULL, lease_until = NULL, updated_at = now()"
        " WHERE job_id = %s",
        (
            status,
            failure[0] if failure else None,
            failure[1] if failure else None,
            master_playlist_key,
            job_id,
        ),
    )
