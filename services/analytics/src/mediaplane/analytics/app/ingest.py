"""Accepting a player's beacon batch: admit it, then publish it to the beacon stream."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from mediaplane.analytics.adapters.files import playable_file
from mediaplane.analytics.domain.admission import BeaconBudgets, admit_batch
from mediaplane.contracts import Beacon, Event, EventContext, PlaybackBeacons, new_event
from mediaplane.eventlog.database import Pool

Publish = Callable[[Event], Awaitable[object]]


class BeaconIngest:
    """The ingest endpoint's work. Nothing is stored here: the batch goes to the beacon
    stream (acknowledged by JetStream before the player hears 202), and the rollup
    worker folds it."""

    def __init__(
        self,
        pool: Pool,
        budgets: BeaconBudgets,
        publish: Publish,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self._budgets = budgets
        self._publish = publish
        self._clock = clock
        self._monotonic = monotonic

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
        self._budgets.take(viewer, len(beacons), self._monotonic())
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
