"""The second consumer of `file.verified.v1`: every verified image, video, audio and PDF
gets its metadata extracted (`metadata.extracted.v1` or `metadata.failed.v1`)."""

from __future__ import annotations

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import FileVerified, object_reference_problem
from mediaplane.thumbnailer.app.metadata import MetadataExtractor

METADATA_DURABLE = "thumbnailer-metadata"


def register_metadata(bus: Bus, extractor: MetadataExtractor) -> None:
    settings = extractor.thumbnails.settings

    @bus.consumer(
        METADATA_DURABLE,
        events=[FileVerified],
        max_deliver=settings.max_deliver,
        backoff=[5, 30, 120],
        ack_wait=60,
        batch_size=settings.concurrency,
    )
    async def on_verified(event: FileVerified, delivery: Delivery) -> None:
        # A forged or broken event must not make us read another owner's object.
        if problem := object_reference_problem(event, {settings.originals_bucket}):
            raise PoisonEvent(problem)
        await extractor.process(event, last_attempt=delivery.is_last_attempt)
