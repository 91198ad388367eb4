"""The projection consumer: what the janitor needs to know, from other services' events.

Sessions (to expire them, and to sweep their staging objects once the file
is settled), and every object a file owns: its original and staging object,
its HLS renditions and its thumbnails (to purge them once the file is deleted
or rejected). Streams are not ordered against each other, so a thumbnail may be
announced after its file was deleted: the purge sweep is woken to delete it.
"""

from __future__ import annotations

import asyncio

import structlog

from mediaplane.bus import Bus, Delivery, PoisonEvent
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
_log = structlog.get_logger(__name__)


def register_projection(bus: Bus, service: JanitorService, purge_wanted: asyncio.Event) -> None:
    @bus.consumer(
        PROJECTION_DURABLE,
        events=PROJECTED_EVENTS,
        max_deliver=10,
        backoff=[1, 5, 30, 60],
        ack_wait=30,
    )
    async def on_event(event: Event, delivery: Delivery) -> None:
        # The janitor deletes what these name: a key outside its owner's prefix
        # (forged or broken) must never become something to purge.
        if names_object(event) and (
            problem := object_reference_problem(event, {service.settings.originals_bucket})
        ):
            raise PoisonEvent(problem)
        if await service.project(event):
            purge_wanted.set()
        _log.debug("projection.applied", type=event.tag(), delivery=delivery.delivery_count)
