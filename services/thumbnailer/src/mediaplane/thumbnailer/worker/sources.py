"""The consumer of file events that keeps `variant_sources`: what variants may be made of."""

from __future__ import annotations

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import (
    FileDeleted,
    FileRejected,
    FileUploadedV2,
    FileVerified,
    object_reference_problem,
)
from mediaplane.eventlog import Pool
from mediaplane.thumbnailer.adapters import variant_store

DURABLE = "thumbnailer-variant-sources"


def register_variant_sources(bus: Bus, pool: Pool, *, originals_bucket: str) -> None:
    @bus.consumer(
        DURABLE,
        events=[FileUploadedV2, FileVerified, FileRejected, FileDeleted],
        max_deliver=5,
        backoff=[1, 5, 30, 120],
    )
    async def on_file_event(
        event: FileUploadedV2 | FileVerified | FileRejected | FileDeleted, delivery: Delivery
    ) -> None:
        # Variants read the object a file.verified names: never another owner's.
        if isinstance(event, FileVerified) and (
            problem := object_reference_problem(event, {originals_bucket})
        ):
            raise PoisonEvent(problem)
        await variant_store.project_source(pool, event)
