"""The accounts projection (`gateway_accounts`, migration 0003): written by the accounts
consumer, read for quotas (the plan and an admin's override, inside the open statement, see
projections.py) and
by the API's blocked-account set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg

from mediaplane.eventlog import Pool
from mediaplane.upload_gateway.domain.account import AccountChange

Conn = psycopg.AsyncConnection[Any]

# Each field moves only to a later fact (by `(occurred_at, event_id)`), and `deleted` is
# final: a redelivered or late event changes nothing.
_STATUS = """
INSERT INTO gateway_accounts (owner, status, status_at, status_event)
VALUES (%(owner)s, %(status)s, %(at)s, %(event_id)s)
ON CONFLICT (owner) DO UPDATE
SET status = EXCLUDED.status, status_at = EXCLUDED.status_at,
    status_event = EXCLUDED.status_event
WHERE gateway_accounts.status <> 'deleted'
  AND (gateway_accounts.status_at IS NULL
       OR (gateway_accounts.status_at, gateway_accounts.status_event)
          < (EXCLUDED.status_at, EXCLUDED.status_event))
"""
_PLAN = """
INSERT INTO gateway_accounts (owner, plan, plan_at, plan_event)
VALUES (%(owner)s, %(plan)s, %(at)s, %(event_id)s)
ON CONFLICT (owner) DO UPDATE
SET plan = EXCLUDED.plan, plan_at = EXCLUDED.plan_at, plan_event = EXCLUDED.plan_event
WHERE gateway_accounts.plan_at IS NULL
   OR (gateway_accounts.plan_at, gateway_accounts.plan_event)
      < (EXCLUDED.plan_at, EXCLUDED.plan_event)
"""

_QUOTA = """
INSERT INTO gateway_accounts (owner, quota_files, quota_bytes, quota_at, quota_event)
VALUES (%(owner)s, %(quota_files)s, %(quota_bytes)s, %(at)s, %(event_id)s)
ON CONFLICT (owner) DO UPDATE
SET quota_files = EXCLUDED.quota_files, quota_bytes = EXCLUDED.quota_bytes,
    quota_at = EXCLUDED.quota_at, quota_event = EXCLUDED.quota_event
WHERE gateway_accounts.quota_at IS NULL
   OR (gateway_accounts.quota_at, gateway_accounts.quota_event)
      < (EXCLUDED.quota_at, EXCLUDED.quota_event)
"""


async def record(conn: Conn, changes: Sequence[AccountChange]) -> None:
    """Apply `changes` in one transaction."""
    async with conn.transaction():
        for change in changes:
            params = {
                "owner": change.owner,
                "status": change.status,
                "plan": change.plan,
                "at": change.at,
                "event_id": change.event_id,
                "quota_files": change.quota.files if change.quota else None,
                "quota_bytes": change.quota.bytes if change.quota else None,
            }
            if change.status is not None:
                await conn.execute(_STATUS, params)
            if change.plan is not None:
                await conn.execute(_PLAN, params)
            if change.quota is not None:
                await conn.execute(_QUOTA, params)


async def live_files(pool: Pool, owner: str) -> list[UUID]:
    """The owner's files that are not deleted or rejected."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT file_id FROM gateway_files"
            " WHERE owner = %s AND status IN ('uploaded', 'verified') ORDER BY file_id",
            (owner,),
        )
        return [row[0] for row in await cursor.fetchall()]


async def blocked(pool: Pool) -> dict[str, str]:
    """Every suspended or deleted account: owner -> status."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT owner, status FROM gateway_accounts WHERE status <> 'active'"
        )
        return dict(await cursor.fetchall())
