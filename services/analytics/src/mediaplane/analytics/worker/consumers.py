"""Registering the two consumers on their buses."""

from __future__ import annotations

from collections.abc import Sequence

from mediaplane.analytics.adapters.files import file_deleted, file_duration, file_owner
from mediaplane.analytics.app.rollup import roll_up
from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileVerified,
    PlaybackBeacons,
    Registry,
    TranscodeCompleted,
)
from mediaplane.eventlog.database import Pool

FILES_DURABLE = "analytics-files"
ROLLUP_DURABLE = "analytics-rollup"


def register_files(bus: Bus, pool: Pool) -> None:
    """Who owns each file and how long it plays: what ingest checks beacons against."""

    @bus.consumer(FILES_DURABLE, events=[FileVerified, TranscodeCompleted, FileDeleted])
    async def on_file(event: Event, delivery: Delivery) -> None:
        async with pool.connection() as conn:
            if isinstance(event, FileVerified):
                await file_owner(conn, event.file_id, event.owner)
            elif isinstance(event, TranscodeCompleted):
                await file_duration(conn, event.file_id, event.duration)
            elif isinstance(event, FileDeleted):
                await file_deleted(conn, event.file_id)


def register_rollup(bus: Bus, pool: Pool, registry: Registry, *, batch_size: int) -> None:
    """One writer (concurrency 1): a view's batches are folded in stream order."""

    def decode(data: bytes, delivery: Delivery) -> PlaybackBeacons:
        try:
            event = registry.decode(data)
        except Exception as exc:
            raise PoisonEvent(f"undecodable beacon batch: {exc}") from None
        if not isinstance(event, PlaybackBeacons):
            raise PoisonEvent(f"not a beacon batch: {event.tag()}")
        return event

    @bus.batch_consumer(
        ROLLUP_DURABLE,
        decode=decode,
        events=[PlaybackBeacons],
        batch_size=batch_size,
        concurrency=1,
    )
    async def on_batches(batches: Sequence[PlaybackBeacons]) -> None:
        await roll_up(pool, batches)
