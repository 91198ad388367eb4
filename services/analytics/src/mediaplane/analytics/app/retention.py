"""The stated retention, applied: per-view rows past VIEW_RETENTION_DAYS and applied-batch
ids past the beacon stream's age go; the day rollups stay for good.

Run by the worker role every `prune_interval` seconds and by `analytics prune`; it is
idempotent, so every worker replica may run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog

from mediaplane.analytics.adapters.rollups import prune_applied, prune_views
from mediaplane.analytics.config import BEACON_MAX_AGE, VIEW_RETENTION_DAYS
from mediaplane.eventlog.database import Pool

log = structlog.get_logger("mediaplane.analytics")


@dataclass(frozen=True)
class Pruned:
    removed_views: int
    before: date
    forgotten_batches: int


async def prune(pool: Pool, now: datetime) -> Pruned:
    before = (now - timedelta(days=VIEW_RETENTION_DAYS)).date()
    # A day past the stream's max_age: a batch is applied after it is published.
    applied_before = now - timedelta(seconds=BEACON_MAX_AGE) - timedelta(days=1)
    async with pool.connection() as conn, conn.transaction():
        removed = await prune_views(conn, before)
        forgotten = await prune_applied(conn, applied_before)
    if removed or forgotten:
        log.info("analytics.pruned", removed_views=removed, forgotten_batches=forgotten)
    return Pruned(removed, before, forgotten)
