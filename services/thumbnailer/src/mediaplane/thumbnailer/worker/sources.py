"""The consumer of file events that keeps `variant_sources` (what variants may be made of),
and drops a file's variants on an admin's re-run (`file.reprocess_requested.v2`, target
`variants`): the next request for each makes it again."""

from __future__ import annotations

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import (
    FileDeleted,
    FileRejected,
    FileReprocessRequestedV2,
    FileRestored,
    FileTakenDown,
    FileUploadedV2,
    FileVerified,
    object_reference_problem,
)
from mediaplane.eventlog import Pool
from mediaplane.thumbnailer.adapters import variant_store
from mediaplane.thumbnailer.app.variants import VariantService

DURABLE = "thumbnailer-variant-sources"


def register_variant_sources(
    bus: Bus, pool: Pool, variants: VariantService, *, originals_bucket: str
) -> None:
    @bus.consumer(
        DURABLE,
        events=[
            FileUploadedV2,
            FileVerified,
            FileRejected,
            FileReprocessRequestedV2,
            FileDeleted,
            FileTakenDown,
            FileRestored,
            FileReprocessRequestedV2,
        ],
        max_deliver=5,
        backoff=[1, 5, 30, 120],
    )
    async def on_file_event(
        event: FileUploadedV2
        | FileVerified
        | FileRejected
        | FileDeleted
        | FileTakenDown
        | FileRestored
        | FileReprocessRequestedV2,
        delivery: Delivery,
    ) -> None:
        if isinstance(event, FileReprocessRequestedV2):
            if event.target == "variants":  # the other targets are other consumers' jobs
                await variants.drop(event)
            return
        if isinstance(event, FileTakenDown | FileRestored):
            await variant_store.project_moderation(pool, event)
            return
        # Variants read the object a file.verified names: never another owner's.
        if isinstance(event, FileVerified) and (
            problem := object_reference_problem(event, {originals_bucket})
        ):
            raise PoisonEvent(problem)
        await variant_store.project_source(pool, event)
