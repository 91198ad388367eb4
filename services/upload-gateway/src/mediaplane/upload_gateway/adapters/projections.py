"""Inline projections (sessions and files per owner), written with the events they follow."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileUploadedV2,
    FileVerified,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
)
from mediaplane.domain.quota import Plans
from mediaplane.eventlog import AppendGuard
from mediaplane.upload_gateway.domain.policy import OwnerUsage

Conn = psycopg.AsyncConnection[Any]

# Admission of a new session, in the statement that appends `upload.session.opened`:
# the owner's quota (an admin's override field by field, else the plan's), the owner's
# usage read under the owner's quota lock (the function reads with a fresh snapshot after
# the lock is granted, see migration 0002), the event appended only when the session fits
# the quota (the rule of policy.check_quota), and the projection row written only together
# with the event.
_OPEN_BEFORE = """projected AS MATERIALIZED (
    SELECT a.plan, a.quota_files, a.quota_bytes
    FROM (SELECT) one LEFT JOIN gateway_accounts a ON a.owner = %(q_owner)s
), quota AS MATERIALIZED (
    SELECT COALESCE(projected.quota_files, known.files, %(q_default_files)s) AS files,
           COALESCE(projected.quota_bytes, known.bytes, %(q_default_bytes)s) AS bytes
    FROM projected
    LEFT JOIN unnest(%(q_plans)s::text[], %(q_plan_files)s::bigint[], %(q_plan_bytes)s::bigint[])
         AS known (plan, files, bytes)
      ON known.plan = COALESCE(projected.plan, %(q_claimed_plan)s)
), usage AS MATERIALIZED (
    SELECT * FROM gateway_lock_owner_usage(%(q_owner)s, %(q_now)s)
), admitted AS (
    SELECT FROM usage, quota
    WHERE usage.files + usage.open_sessions + 1 <= quota.files
      AND usage.bytes + usage.reserved_bytes + %(q_size)s <= quota.bytes
)"""

_OPEN_AFTER = """session_row AS (
    INSERT INTO gateway_sessions (session_id, file_id, owner, mode, size, status,
                                  expires_at, opened_at, updated_at)
    SELECT %(q_session_id)s, %(q_file_id)s, %(q_owner)s, %(q_mode)s, %(q_size)s, 'open',
           %(q_expires_at)s, %(q_at)s, %(q_at)s
    FROM appended
)"""

_RESULT_COLUMNS = ", ".join(
    [
        *(
            f"(SELECT {column} FROM usage)"
            for column in ("files", "bytes", "open_sessions", "reserved_bytes")
        ),
        *(f"(SELECT {column} FROM projected)" for column in ("plan", "quota_files", "quota_bytes")),
    ]
)


@dataclass(frozen=True)
class PlanTable:
    """The plans' quotas as the open statement's parameters, built once per process.

    As array literals (text, which Postgres casts) rather than Python lists: psycopg
    would adapt each list, element by element, on every open."""

    params: Mapping[str, Any]


def plan_table(plans: Plans) -> PlanTable:
    default = plans.quota(plans.default)
    names = ",".join('"' + _escaped(plan) + '"' for plan in plans.quotas)
    return PlanTable(
        params={
            "q_plans": "{" + names + "}",
            "q_plan_files": "{" + ",".join(str(q.files) for q in plans.quotas.values()) + "}",
            "q_plan_bytes": "{" + ",".join(str(q.bytes) for q in plans.quotas.values()) + "}",
            "q_default_files": default.files,
            "q_default_bytes": default.bytes,
        }
    )


def _escaped(element: str) -> str:
    """An element of a quoted array literal: backslash and double quote escaped."""
    return element.replace("\\", "\\\\").replace('"', '\\"')


def open_session_guard(
    opened: UploadSessionOpened, table: PlanTable, claimed_plan: str | None
) -> AppendGuard:
    """Append `opened` only within the owner's quota, with its projection row.

    The quota is that of `Plans.plan_of(projected, claimed_plan)` with the admin's
    override (`Plans.effective`), applied in SQL: the owner's plan and override are read
    from the accounts projection in the same statement, not in a round trip before it."""
    return AppendGuard(
        before=_OPEN_BEFORE,
        after=_OPEN_AFTER,
        result=_RESULT_COLUMNS,
        params={
            **table.params,
            "q_owner": opened.owner,
            "q_now": opened.occurred_at,
            "q_claimed_plan": claimed_plan,
            "q_size": opened.size,
            "q_session_id": opened.session_id,
            "q_file_id": opened.file_id,
            "q_mode": opened.mode,
            "q_expires_at": opened.expires_at,
            "q_at": opened.occurred_at,
        },
        lock=opened.owner,  # `_OPEN_BEFORE` takes the owner's lock
    )


@dataclass(frozen=True, kw_only=True)
class RefusedOpen:
    """What a refused `open_session_guard` read (its result columns)."""

    usage: OwnerUsage
    plan: str | None  # the projected plan
    quota_files: int | None  # an admin's override
    quota_bytes: int | None


def refused_open(result: tuple[Any, ...]) -> RefusedOpen:
    files, size, sessions, reserved, plan, quota_files, quota_bytes = result
    usage = OwnerUsage(
        files=files, bytes=int(size), open_sessions=sessions, reserved_bytes=int(reserved)
    )
    return RefusedOpen(usage=usage, plan=plan, quota_files=quota_files, quota_bytes=quota_bytes)


async def apply(conn: Conn, events: Sequence[Event]) -> None:
    for event in events:
        await _apply_one(conn, event)


async def _apply_one(conn: Conn, event: Event) -> None:
    at = event.occurred_at
    if isinstance(event, UploadSessionCompleted | UploadSessionAborted):
        status = "completed" if isinstance(event, UploadSessionCompleted) else "aborted"
        await conn.execute(
            "UPDATE gateway_sessions SET status = %s, updated_at = %s WHERE session_id = %s",
            (status, at, event.session_id),
        )
    elif isinstance(event, FileUploadedV2):
        await conn.execute(
            "INSERT INTO gateway_files (file_id, owner, size, status, updated_at)"
            " VALUES (%s, %s, %s, 'uploaded', %s) ON CONFLICT (file_id) DO NOTHING",
            (event.file_id, event.owner, event.size, at),
        )
    elif isinstance(event, FileVerified):
        # The quota counts the verified copy's size: bytes written to the staging
        # object after completion are never counted (nor served).
        await conn.execute(
            "UPDATE gateway_files SET status = 'verified', size = %s, updated_at = %s"
            " WHERE file_id = %s",
            (event.size, at, event.file_id),
        )
    elif isinstance(event, FileRejected | FileDeleted):
        status = "rejected" if isinstance(event, FileRejected) else "deleted"
        await conn.execute(
            "UPDATE gateway_files SET status = %s, updated_at = %s WHERE file_id = %s",
            (status, at, event.file_id),
        )
