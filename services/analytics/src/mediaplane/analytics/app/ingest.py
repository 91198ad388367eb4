"""Accepting a player's beacon batch: admit it, then publish it to the beacon stream."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from mediaplane.analytics.adapters.files import playable_file
from mediaplane.analytics.domain.admission import admit_batch
from mediaplane.analytics.domain.errors import BeaconFlood
from mediaplane.contracts import Beacon, Event, EventContext, PlaybackBeacons, new_event
from mediaplane.eventlog.database import Pool
from mediaplane.servicekit.rate_limit import OwnerRateLimiter, RateLimit, RateLimited

Publish = Callable[[Event], Awaitable[object]]


class BeaconIngest:
    """The ingest endpoint's work. Nothing is stored here: the batch goes to the beacon
    stream (acknowledged by JetStream before the player hears 202), and the rollup
    worker folds it."""

    def __init__(
        self,
        pool: Pool,
        budget: RateLimit,
        publish: Publish,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._pool = pool
        self._budget = budget
        # The platform's shared token buckets (servicekit, table `rate_buckets`):
        # every API replica spends from the same budget of a viewer.
        self._budgets = OwnerRateLimiter(budget, purpose="beacons")
        self._budgets.use(pool)
        self._publish = publish
        self._clock = clock

    async def accept(
        self,
        *,
        view_id: uuid.UUID,
        file_id: uuid.UUID,
        beacons: Sequence[Beacon],
        viewer: str,
        viewer_is_admin: bool,
        correlation_id: str,
    ) -> PlaybackBeacons:
        now = self._clock()
        async with self._pool.connection() as conn:
            file = await playable_file(conn, file_id)
        file = admit_batch(
            beacons, file=file, viewer=viewer, viewer_is_admin=viewer_is_admin, now=now
        )
        try:
            await self._budgets.check(viewer, cost=len(beacons))
        except RateLimited as spent:
            raise BeaconFlood(
                f"at most {self._budget.per_second:g} beacons/s per viewer "
                f"(burst {self._budget.burst})",
                retry_after=spent.retry_after or 1,
            ) from None
        event = new_event(
            PlaybackBeacons,
            stream_id=f"view-{view_id}",
            context=EventContext(producer="analytics", correlation_id=correlation_id),
            occurred_at=now,
            view_id=view_id,
            file_id=file_id,
            owner=file.owner,
            viewer=viewer,
            beacons=list(beacons),
        )
        await self._publish(event)
        return event
