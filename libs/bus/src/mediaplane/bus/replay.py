"""Re-reading the event stream from a point: an ephemeral consumer, no acks, no durable touched."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mediaplane.bus.pull import BatchPuller
from mediaplane.bus.settings import BusSettings


@dataclass(frozen=True, slots=True)
class StoredMessage:
    subject: str
    data: bytes
    stream_sequence: int


async def read_stream(
    settings: BusSettings,
    *,
    name: str,
    from_seq: int | None = None,
    since: datetime | None = None,
    batch_size: int = 1000,
    idle_timeout: float = 2.0,
) -> AsyncGenerator[list[StoredMessage], None]:
    """Batches of the stream's messages from `from_seq` (or stored since `since`).

    It ends at the newest message present when it reached it, or when nothing
    came for `idle_timeout` seconds. The consumer is ephemeral (removed by the
    server when idle) and acks nothing, so it can run beside the live
    consumers; the identity needs the right to create such consumers
    (`Identity.replays`).
    """
    if (from_seq is None) == (since is None):
        raise ValueError("give exactly one of from_seq and since")
    if since is not None and since.tzinfo is None:
        raise ValueError("since needs a time zone")
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE
        if from_seq is not None
        else DeliverPolicy.BY_START_TIME,
        opt_start_seq=from_seq,
        opt_start_time=since,
        ack_policy=AckPolicy.NONE,
        filter_subject=settings.subjects,
        inactive_threshold=60.0,
        mem_storage=True,
    )
    nc = await nats.connect(settings.servers, name=name, **settings.connect_options())
    try:
        info = await nc.jetstream().add_consumer(settings.stream, config)
        if info.name is None:
            raise RuntimeError("the server named no consumer")
        puller = BatchPuller(nc, settings.stream, info.name)
        await puller.start()
        try:
            while msgs := await puller.fetch(batch_size, expires=idle_timeout):
                yield [StoredMessage(m.subject, m.data, m.metadata.sequence.stream) for m in msgs]
                if msgs[-1].metadata.num_pending == 0:
                    break  # reached the newest message
        finally:
            await puller.close()
    finally:
        await nc.close()
