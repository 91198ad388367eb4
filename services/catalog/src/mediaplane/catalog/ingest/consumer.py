"""The ingest consumer: JetStream `media.>` -> ledger + projections, one transaction per fetch.

It is the bus's batch consumer (`Bus.batch_consumer`, libs/bus `batch.py`), not
a per-message handler: a handler is one Postgres transaction per event, and
commits (WAL flushes) then bound ingestion: a single-row transaction costs
~0.3-0.5 ms here (docs/benchmarks.md, event log section), under the 5,000
events/s aim once the projection work is added. Here one fetch of up to
`batch_size` messages is one transaction: the ledger insert is one statement
and each projection is refreshed once for all the keys the batch touched. Up
to `writers` batches are written at once (separate transactions, serialized
per key by `ingest`'s key locks), and the bus receives and decodes the next
fetch meanwhile.

The bus applies the delivery rules: a batch committed -> every message ACKed
(a lost ACK only redelivers an event the ledger already has, which changes
nothing); a batch failed -> each message retried alone, NAKed with the
policy's delay or dead-lettered on its last attempt; a body that is not an
event, or names an object it must not -> dead letter at once; the spare
delivery -> dead letter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from mediaplane.bus import Bus, BusSettings, Delivery, PoisonEvent
from mediaplane.catalog.adapters.ledger import ingest
from mediaplane.catalog.config import IngestSettings
from mediaplane.catalog.domain.entries import LedgerEntry, PoisonMessage, trusted_ledger_entry
from mediaplane.catalog.ingest.metrics import BATCH_SECONDS, EVENTS
from mediaplane.contracts import Registry
from mediaplane.eventlog.database import Pool


def register_ingest(bus: Bus, pool: Pool, settings: IngestSettings) -> None:
    """Make `bus` run the ingest consumer (durable `settings.durable`, every event subject)."""
    originals = {settings.originals_bucket}

    def decode(data: bytes, delivery: Delivery) -> LedgerEntry:
        try:
            return trusted_ledger_entry(
                bus.registry,
                delivery.subject,
                data,
                delivery.stream_sequence,
                originals=originals,
            )
        except PoisonMessage as exc:
            raise PoisonEvent(f"{exc.kind}: {exc}") from exc

    @bus.batch_consumer(
        settings.durable,
        decode=decode,
        batch_size=settings.batch_size,
        concurrency=settings.writers,
        max_deliver=settings.max_deliver,
        backoff=settings.backoff,
        ack_wait=settings.ack_wait,
        observe=lambda outcome: EVENTS.labels(outcome).inc(),
    )
    async def write(entries: Sequence[LedgerEntry]) -> None:
        started = time.perf_counter()
        async with pool.connection() as conn:
            result = await ingest(conn, entries)
        BATCH_SECONDS.observe(time.perf_counter() - started)
        EVENTS.labels("ingested").inc(result.inserted)
        EVENTS.labels("duplicate").inc(result.duplicates)


async def run_ingest(
    *,
    pool: Pool,
    registry: Registry,
    bus: BusSettings,
    settings: IngestSettings,
    stop: asyncio.Event,
    provision: bool = True,
) -> None:
    """Consume `media.>` with the durable `settings.durable` until `stop` is set."""
    consumer = Bus(bus, registry, producer="catalog-ingest", provision_streams=provision)
    register_ingest(consumer, pool, settings)
    async with consumer.running():
        await stop.wait()
