"""The consumer of file events that keeps `variant_sources` (what variants may be made of),
and drops a file's variants on an admin's re-run (`file.reprocess_requested.v2`, target
`variants`): the next request for each makes it again.

The bus's batch consumer: a fetch's file events are one transaction and its messages
are acked together (a per-message consumer made each its own transaction and ack round
trip); a failed batch is retried one message at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from mediaplane.bus import Bus, Delivery, PoisonEvent, decode_event
from mediaplane.contracts import (
    Event,
    FileReprocessRequestedV2,
    FileVerified,
    object_reference_problem,
)
from mediaplane.eventlog import Pool
from mediaplane.thumbnailer.adapters import variant_store
from mediaplane.thumbnailer.adapters.variant_store import ProjectedEvent
from mediaplane.thumbnailer.app.variants import VariantService

DURABLE = "thumbnailer-variant-sources"
CONSUMED = (*variant_store.PROJECTED_EVENTS, FileReprocessRequestedV2)


def register_variant_sources(
    bus: Bus, pool: Pool, variants: VariantService, *, originals_bucket: str
) -> None:
    def decode(data: bytes, delivery: Delivery) -> Event | None:
        event = decode_event(bus.registry, data, CONSUMED)
        # Variants read the object a file.verified names: never another owner's.
        if isinstance(event, FileVerified) and (
            problem := object_reference_problem(event, {originals_bucket})
        ):
            raise PoisonEvent(f"poison: {problem}")
        return event

    @bus.batch_consumer(
        DURABLE,
        decode=decode,
        events=list(CONSUMED),
        batch_size=100,
        concurrency=1,
        max_deliver=5,
        backoff=[1, 5, 30, 120],
    )
    async def on_file_events(events: Sequence[Event | None]) -> None:
        projected: list[ProjectedEvent] = []
        for event in events:
            if isinstance(event, FileReprocessRequestedV2):
                if event.target == "variants":  # the other targets are other consumers' jobs
                    await variants.drop(event)
            elif isinstance(event, variant_store.PROJECTED_EVENTS):
                projected.append(event)
        await variant_store.project(pool, projected)
