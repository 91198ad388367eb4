"""Registering the two consumers on their buses."""

from __future__ import annotations

from collections.abc import Sequence

from mediaplane.analytics.adapters.files import record_files
from mediaplane.analytics.app.rollup import roll_up
from mediaplane.analytics.domain.files import file_facts
from mediaplane.bus import Bus, Delivery, PoisonEvent, decode_event
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
FILE_EVENTS: list[type[Event]] = [FileVerified, TranscodeCompleted, FileDeleted]
ROLLUP_DURABLE = "analytics-rollup"


def register_files(bus: Bus, pool: Pool) -> None:
    """Who owns each file and how long it plays: what ingest checks beacons against.

    A batch consumer (libs/bus `batch.py`): a fetch is one upsert and its messages
    are acked together. Per message, a transaction and a synchronous ack round trip
    each cost ~1 ms of the worker's CPU for a one-row write, under the platform's
    event load. One batch at a time, so a file's events are stored in stream order.
    """
    wanted = tuple(FILE_EVENTS)

    def decode(data: bytes, delivery: Delivery) -> Event | None:
        return decode_event(bus.registry, data, wanted)

    @bus.batch_consumer(FILES_DURABLE, decode=decode, events=FILE_EVENTS, concurrency=1)
    async def on_files(events: Sequence[Event | None]) -> None:
        facts = file_facts(event for event in events if event is not None)
        if facts:
            async with pool.connection() as conn:
                await record_files(conn, facts)


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
