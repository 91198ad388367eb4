"""The transcode worker: a competing consumer of `file.verified` (videos and audio), of an
admin's re-run (`file.reprocess_requested.v2` with target `transcode`), and of the chunks of
long videos (`transcode.chunk_requested`: a work queue every replica shares)."""

from __future__ import annotations

from mediaplane.bus import Bus, Delivery, PoisonEvent
from mediaplane.contracts import (
    FileReprocessRequestedV2,
    FileVerified,
    TranscodeChunkRequested,
    object_reference_problem,
)
from mediaplane.transcoder.app.fanout import ChunkEncoder
from mediaplane.transcoder.app.transcode import Transcoder
from mediaplane.transcoder.config import TranscoderSettings

TRANSCODER_DURABLE = "transcoder-file-verified"
CHUNKS_DURABLE = "transcoder-chunks"


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


def register_chunk_encoder(bus: Bus, encoder: ChunkEncoder, settings: TranscoderSettings) -> None:
    """Every replica registers the same durable: each chunk goes to one of them at a time.

    A long chunk is kept alive by the bus (in-progress acks every half
    `ack_wait`); a replica that dies stops them, and the chunk is redelivered to
    any replica after `ack_wait`.
    """

    @bus.consumer(
        CHUNKS_DURABLE,
        events=[TranscodeChunkRequested],
        max_deliver=settings.max_deliver,
        backoff=settings.backoff,
        ack_wait=settings.ack_wait,
        batch_size=settings.chunking.workers,
    )
    async def on_chunk(event: TranscodeChunkRequested, delivery: Delivery) -> None:
        # Written by this service's own jobs, but checked like any event naming an object.
        if problem := object_reference_problem(event, {settings.originals_bucket}):
            raise PoisonEvent(problem)
        await encoder.handle(
            event, attempt=delivery.delivery_count, last_attempt=delivery.is_last_attempt
        )
