"""The ingest consumer: JetStream `media.>` -> ledger + projections, one transaction per fetch.

Why this is not a `Bus.consumer` handler: the bus hands every message to the
handler on its own (with `batch_size` > 1, concurrently) and acks each one
synchronously, so each event would be its own Postgres transaction. Commits
(WAL flushes) then bound ingestion: a single-row transaction costs ~0.3-0.5 ms
here (docs/benchmarks.md, event log section), under the 5,000 events/s aim
once the projection work is added. Here one fetch of up to `batch_size`
messages is one transaction: the ledger insert is one statement and each
projection is refreshed once for all the keys the batch touched. Up to
`writers` batches are written at once (separate transactions, serialized per
key by `ingest`'s key locks), and the next fetch is received and decoded
meanwhile. Fetches go through `BatchPuller` (`ingest/pull.py`), not nats-py's
`fetch`, for its per-message CPU cost.

The bus's delivery semantics are kept with its own building blocks: the
durable's config from `consumer_config` and `RetryPolicy` (explicit acks,
`max_deliver` + the spare delivery), NAK delays from the policy, and
dead-lettering through `mediaplane.bus.dead_letter`:

- batch committed -> every message ACKed (a lost ACK only redelivers an event
  the ledger already has, which changes nothing);
- batch failed -> each message retried alone in its own transaction, so one
  bad message cannot hold the others back: it is NAKed with the policy's
  delay, or dead-lettered on its last attempt;
- a body that is not an event -> dead letter at once (retrying cannot help);
- the spare delivery (the last attempt never answered) -> dead letter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import nats
import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from mediaplane.bus import BusSettings, Delivery, RetryPolicy, consumer_config, ensure_consumer
from mediaplane.bus import provision as provision_streams
from mediaplane.bus.dead_letter import dead_letter
from mediaplane.catalog.adapters.ledger import ingest
from mediaplane.catalog.config import IngestSettings
from mediaplane.catalog.domain.entries import LedgerEntry, PoisonMessage, trusted_ledger_entry
from mediaplane.catalog.ingest.metrics import BATCH_SECONDS, EVENTS
from mediaplane.catalog.ingest.pull import BatchPuller
from mediaplane.contracts import Registry
from mediaplane.eventlog.database import Pool

FETCH_TIMEOUT = 1.0  # seconds a pull waits for messages; also how fast a stop is noticed
_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Pending:
    msg: Msg
    delivery: Delivery
    entry: LedgerEntry


class BatchIngestor:
    """Writes one fetch of messages to the ledger and answers each message."""

    def __init__(
        self,
        *,
        pool: Pool,
        registry: Registry,
        js: JetStreamContext,
        bus: BusSettings,
        retry: RetryPolicy,
        originals_bucket: str,
    ) -> None:
        self._originals = {originals_bucket}
        self._pool = pool
        self._registry = registry
        self._js = js
        self._bus = bus
        self._retry = retry

    async def prepare(self, msgs: Sequence[Msg]) -> list[_Pending]:
        """Decode a fetch; dead-letters what can never be ingested, returns the rest."""
        pending: list[_Pending] = []
        for msg in msgs:
            delivery = Delivery.of(msg, max_deliver=self._retry.max_deliver)
            if delivery.delivery_count > self._retry.max_deliver:
                await self._dead_letter(
                    msg,
                    delivery,
                    f"no answer to delivery {self._retry.max_deliver} "
                    "(worker died or overran ack_wait)",
                )
                continue
            try:
                entry = trusted_ledger_entry(
                    self._registry,
                    msg.subject,
                    msg.data,
                    delivery.stream_sequence,
                    originals=self._originals,
                )
            except PoisonMessage as exc:
                await self._dead_letter(msg, delivery, f"{exc.kind}: {exc}")
                continue
            pending.append(_Pending(msg, delivery, entry))
        return pending

    async def write(self, pending: Sequence[_Pending]) -> None:
        """One transaction for the batch, then ACK each message (or retry them one by one)."""
        if not pending:
            return
        started = time.perf_counter()
        try:
            async with self._pool.connection() as conn:
                result = await ingest(conn, [p.entry for p in pending])
        except Exception:
            _log.warning("ingest.batch_failed", size=len(pending), exc_info=True)
            await self._one_by_one(pending)
            return
        BATCH_SECONDS.observe(time.perf_counter() - started)
        EVENTS.labels("ingested").inc(result.inserted)
        EVENTS.labels("duplicate").inc(result.duplicates)
        for p in pending:
            await p.msg.ack()

    async def _one_by_one(self, pending: Sequence[_Pending]) -> None:
        for p in pending:
            try:
                async with self._pool.connection() as conn:
                    result = await ingest(conn, [p.entry])
            except Exception as exc:
                count = p.delivery.delivery_count
                if self._retry.exhausted(count):
                    reason = (
                        f"handler failed on delivery {count}/{self._retry.max_deliver}: "
                        f"{type(exc).__name__}: {exc}"
                    )
                    await self._dead_letter(p.msg, p.delivery, reason)
                else:
                    delay = self._retry.delay(count)
                    _log.warning(
                        "ingest.event_failed", event_id=str(p.entry.event_id), retry_in=delay
                    )
                    EVENTS.labels("retried").inc()
                    await p.msg.nak(delay=delay)
                continue
            EVENTS.labels("ingested" if result.inserted else "duplicate").inc()
            await p.msg.ack()

    async def _dead_letter(self, msg: Msg, delivery: Delivery, reason: str) -> None:
        _log.error(
            "ingest.dead_lettered",
            reason=reason,
            subject=msg.subject,
            stream_sequence=delivery.stream_sequence,
        )
        EVENTS.labels("dead_lettered").inc()
        await dead_letter(self._js, self._bus, msg, delivery, reason)


async def _next_batch(puller: BatchPuller, ingestor: BatchIngestor, batch: int) -> list[_Pending]:
    """The next fetch of up to `batch` messages, decoded; none when nothing came or NATS is away."""
    try:
        msgs = await puller.fetch(batch, expires=FETCH_TIMEOUT)
    except Exception:
        # NATS reconnecting: the client reconnects by itself; try again shortly.
        _log.warning("ingest.fetch_failed", exc_info=True)
        await asyncio.sleep(FETCH_TIMEOUT)
        return []
    try:
        return await ingestor.prepare(msgs)
    except Exception:
        # A dead-letter publish failed (NATS away): this fetch's messages come
        # back after ack_wait, and the ledger dedups the ones written meanwhile.
        _log.warning("ingest.answer_failed", exc_info=True)
        return []


async def _write(ingestor: BatchIngestor, pending: list[_Pending]) -> None:
    try:
        await ingestor.write(pending)
    except Exception:
        # An ack or NAK failed (NATS away): unanswered messages come back after
        # ack_wait, and the ledger dedups them.
        _log.warning("ingest.answer_failed", exc_info=True)


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
    nc = await nats.connect(
        bus.url, name="catalog-ingest", max_reconnect_attempts=-1, **bus.connect_options()
    )
    try:
        js = nc.jetstream()
        if provision:
            await provision_streams(js, bus)
        retry = RetryPolicy(max_deliver=settings.max_deliver, backoff=settings.backoff)
        await ensure_consumer(
            js,
            bus.stream,
            consumer_config(
                settings.durable,
                filter_subjects=(bus.subjects,),
                retry=retry,
                ack_wait=settings.ack_wait,
                # Enough unacked messages for the batches being written and the
                # next fetch, not more: a batch's messages are acked together after
                # its commit.
                max_ack_pending=settings.batch_size * (settings.writers + 2),
            ),
        )
        puller = BatchPuller(nc, bus.stream, settings.durable)
        await puller.start()
        ingestor = BatchIngestor(
            pool=pool,
            registry=registry,
            js=js,
            bus=bus,
            retry=retry,
            originals_bucket=settings.originals_bucket,
        )
        _log.info("ingest.started", durable=settings.durable, batch_size=settings.batch_size)
        # Batches are written by up to `settings.writers` transactions at once
        # (each commits, then acks its own messages), and the next fetch runs
        # meanwhile: NATS delivers (and this process parses and decodes) batch n+1
        # while Postgres works on the batches before it. Concurrent batches that
        # touch the same keys are serialized by the key locks in `ingest`. Every
        # fetched batch is written, also after `stop`, so no message waits for
        # ack_wait.
        upcoming = asyncio.ensure_future(_next_batch(puller, ingestor, settings.batch_size))
        writing: set[asyncio.Future[None]] = set()
        try:
            while True:
                pending = await upcoming
                last = stop.is_set()
                if not last:
                    upcoming = asyncio.ensure_future(
                        _next_batch(puller, ingestor, settings.batch_size)
                    )
                if pending:
                    writing.add(asyncio.ensure_future(_write(ingestor, pending)))
                if last:
                    break
                if len(writing) >= settings.writers:
                    _, writing = await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)
            if writing:
                await asyncio.wait(writing)
        finally:
            upcoming.cancel()  # when cancelled mid-batch; a no-op after the last fetch
            for task in writing:
                task.cancel()
        await puller.close()
    finally:
        await nc.drain()
