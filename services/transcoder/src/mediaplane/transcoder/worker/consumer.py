"""The transcode worker: a competing consumer of `file.verified` (videos and audio) and of
an admin's re-run, `file.reprocess_requested.v2` with target `transcode`."""

from __future__ import annotations

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import FileReprocessRequestedV2, FileVerified, object_reference_problem
from mediaplane.transcoder.app.transcode import Transcoder
from mediaplane.transcoder.config import TranscoderSettings

TRANSCODER_DURABLE = "transcoder-file-verified"


def register_transcoder(bus: Bus, transcoder: Transcoder, settings: TranscoderSettings) -> None:
    """Every replica registers the same durable: each event goes to one of them."""

    @bus.consumer(
        TRANSCODER_DURABLE,
        events=[FileVerified, FileReprocessRequestedV2],
        max_deliver=settings.max_deliver,
        backoff=settings.backoff,
        ack_wait=settings.ack_wait,
        # A job whose owner has no free slot raises `Defer`: redelivered later, and
        # not a failed attempt (the job row counts those).
        max_deferrals=settings.max_deferrals,
    )
    async def on_verified(
        event: FileVerified | FileReprocessRequestedV2, delivery: Delivery
    ) -> None:
        if isinstance(event, FileReprocessRequestedV2) and event.target != "transcode":
            return  # another worker's job
        # A forged or broken event must not make us read another owner's object.
        if problem := object_reference_problem(event, {settings.originals_bucket}):
            raise PoisonEvent(problem)
        # Returning acks; raising hands the message back with backoff. On the last
        # attempt the job records `transcode.failed` instead of raising.
        await transcoder.handle(event, last_attempt=delivery.is_last_attempt)
