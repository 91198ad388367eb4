"""The projection consumer: what the janitor needs to know, from other services' events.

Sessions (to expire them, and to sweep their staging objects once the file
is settled), and every object a file owns: its original and staging object,
its HLS renditions and its thumbnails (to purge them once the file is deleted
or rejected). Streams are not ordered against each other, so a thumbnail may be
announced after its file was deleted: the purge sweep is woken to delete it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from mediaplane.bus import Bus, Delivery, PoisonEvent, decode_event
from mediaplane.contracts import (
    Event,
    FileDeleted,
    FileRejected,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    ThumbnailGenerated,
    TranscodeCompleted,
    UploadSessionAborted,
    UploadSessionCompleted,
    UploadSessionOpened,
    names_object,
    object_reference_problem,
)
from mediaplane.janitor.app.service import JanitorService
from mediaplane.janitor.config import PROJECTION_DURABLE

PROJECTED_EVENTS: list[type[Event]] = [
    UploadSessionOpened,
    UploadSessionCompleted,
    UploadSessionAborted,
    FileUploadedV2,
    FileVerified,
    FileRejected,
    FileDeleted,
    FileTakenDown,
    FileRestored,
    TranscodeCompleted,
    ThumbnailGenerated,
]
# A fetch of up to this many events is one transaction: large enough that a
# backlog costs few commits, small enough that a batch's retry-alone is cheap.
BATCH_SIZE = 100
_log = structlog.get_logger(__name__)


def register_projection(bus: Bus, service: JanitorService, purge_wanted: asyncio.Event) -> None:
    """The bus's batch consumer (libs/bus `batch.py`): a fetch is one transaction and its
    messages are acked together; a failed batch is retried one message at a time.

    A per-message consumer made every event its own transaction (a commit
    waiting for the WAL flush) and its own ack round trip: most of the
    janitor's CPU under ingest (docs/benchmarks.md, "Latency (f)"). One batch
    at a time, so events are applied in stream order as before.
    """
    wanted = tuple(PROJECTED_EVENTS)
    buckets = {service.settings.originals_bucket}

    def decode(data: bytes, delivery: Delivery) -> Event | None:
        event = decode_event(bus.registry, data, wanted)
        # The janitor deletes what these name: a key outside its owner's prefix
        # (forged or broken) must never become something to purge.
        if (
            event is not None
            and names_object(event)
            and (problem := object_reference_problem(event, buckets))
        ):
            raise PoisonEvent(f"poison: {problem}")
        return event

    @bus.batch_consumer(
        PROJECTION_DURABLE,
        decode=decode,
        events=PROJECTED_EVENTS,
        batch_size=BATCH_SIZE,
        concurrency=1,
        max_deliver=10,
        backoff=[1, 5, 30, 60],
        ack_wait=30,
    )
    async def on_events(events: Sequence[Event | None]) -> None:
        wanted_events = [event for event in events if event is not None]
        if wanted_events and await service.project_batch(wanted_events):
            purge_wanted.set()
        _log.debug("projection.applied", events=len(wanted_events))
