"""The consumer of `file.verified.v1`: every verified image, video and PDF gets thumbnails;
and of `file.reprocess_requested.v2` with target `thumbnails`: an admin's re-run."""

from __future__ import annotations

import structlog

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import FileReprocessRequestedV2, FileVerified, object_reference_problem
from mediaplane.thumbnailer.app.service import ThumbnailService

DURABLE = "thumbnailer-file-verified"
_log = structlog.get_logger(__name__)


def register_thumbnailer(bus: Bus, service: ThumbnailService) -> None:
    settings = service.settings

    @bus.consumer(
        DURABLE,
        events=[FileVerified, FileReprocessRequestedV2],
        max_deliver=settings.max_deliver,
        backoff=[5, 30, 120],
        # Long jobs are kept alive by the bus; this is how long a dead worker holds one.
        ack_wait=60,
        # One fetch feeds every core: its messages are handled concurrently.
        batch_size=settings.concurrency,
    )
    async def on_verified(
        event: FileVerified | FileReprocessRequestedV2, delivery: Delivery
    ) -> None:
        if isinstance(event, FileReprocessRequestedV2) and event.target != "thumbnails":
            return  # another worker's job
        # A forged or broken event must not make us read another owner's object.
        if problem := object_reference_problem(event, {settings.originals_bucket}):
            raise PoisonEvent(problem)
        outcome = await service.process(event, last_attempt=delivery.is_last_attempt)
        _log.info(
            "file.verified.handled",
            file_id=str(event.file_id),
            kind=event.kind,
            outcome=outcome,
            delivery=delivery.delivery_count,
        )
