"""The rollup job: beacon batches into views and day rollups; and its replay (rebuild)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import structlog

from mediaplane.analytics.adapters.rollups import apply_batches, reset_from
from mediaplane.bus import BusSettings
from mediaplane.bus.replay import read_stream
from mediaplane.contracts import PlaybackBeacons, Registry
from mediaplane.eventlog.database import Pool

log = structlog.get_logger("mediaplane.analytics")


async def roll_up(pool: Pool, batches: Sequence[PlaybackBeacons]) -> int:
    """One transaction for a fetch of batches; returns how many were new."""
    async with pool.connection() as conn, conn.transaction():
        return await apply_batches(conn, batches)


@dataclass(frozen=True)
class RebuildReport:
    messages: int
    applied: int
    from_day: str | None


async def rebuild(pool: Pool, registry: Registry, beacons: BusSettings) -> RebuildReport:
    """Recompute views and rollups from the beacon stream, through the live fold.

    Rollup days before the stream's oldest batch are kept: their beacons have aged
    out of the stream (its max_age), so they cannot be recomputed. Run it with the
    rollup role stopped (it folds through the same tables).
    """
    messages = applied = 0
    from_day: date | None = None
    async for stored in read_stream(beacons, name="analytics-rebuild", from_seq=1):
        decoded = [registry.decode(m.data) for m in stored]
        batches = [b for b in decoded if isinstance(b, PlaybackBeacons)]
        async with pool.connection() as conn, conn.transaction():
            if from_day is None and batches:
                from_day = min(b.at for b in batches[0].beacons).date()
                await reset_from(conn, from_day)
            applied += await apply_batches(conn, batches)
        messages += len(stored)
    log.info("analytics.rebuilt", messages=messages, applied=applied)
    return RebuildReport(messages, applied, from_day.isoformat() if from_day else None)
