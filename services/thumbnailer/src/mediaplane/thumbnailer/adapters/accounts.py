"""The accounts projection (`thumbnailer_accounts`, migration 0004): written by the accounts
consumer, read by the variants API's blocked-account set."""

from __future__ import annotations

from collections.abc import Sequence

from mediaplane.eventlog import Pool
from mediaplane.thumbnailer.domain.account import Standing

# The status moves only to a later fact (by `(occurred_at, event_id)`), and `deleted` is
# final: a redelivered or late event changes nothing.
_STANDING = """
INSERT INTO thumbnailer_accounts AS a (owner, status, status_at, status_event)
VALUES (%(owner)s, %(status)s, %(at)s, %(event_id)s)
ON CONFLICT (owner) DO UPDATE
SET status = excluded.status, status_at = excluded.status_at,
    status_event = excluded.status_event
WHERE a.status <> 'deleted'
  AND (a.status_at, a.status_event) < (excluded.status_at, excluded.status_event)
"""


async def record(pool: Pool, standings: Sequence[Standing]) -> None:
    """Apply `standings` in one transaction, one pipelined statement each (an upsert cannot
    touch the same row twice, and a batch may hold several events of one user)."""
    if not standings:
        return
    # One transaction: the pool's, committed as the connection is returned.
    async with pool.connection() as conn, conn.cursor() as cursor:
        await cursor.executemany(
            _STANDING,
            [
                {"owner": s.owner, "status": s.status, "at": s.at, "event_id": s.event_id}
                for s in standings
            ],
        )


async def blocked(pool: Pool) -> dict[str, str]:
    """Every suspended or deleted account: owner -> status."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT owner, status FROM thumbnailer_accounts WHERE status <> 'active'"
        )
        return dict(await cursor.fetchall())
