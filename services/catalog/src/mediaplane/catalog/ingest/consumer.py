"""The ingest consumer: JetStream `media.>` -> ledger + projections, one transaction per fetch.

Why this is not a `Bus.consumer` handler: the bus hands every message to the
handler on its own (with `batch_size` > 1, concurrently) and acks each one
synchronously, so each event would be its own Postgres transaction. Commits
(WAL flushes) then bound ingestion: a single-row transaction costs ~0.3-0.5 ms
here (docs/benchmarks.md, event log section), under the 5,000 events/s aim
once the projection work is added. Here one fetch of up to `batch_size`
messages is one transaction: the ledger insert is one statement and each
projection is refreshed once for all the keys the batch touched.

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
from mediaplane.catalog.domain.entries import LedgerEntry, PoisonMessage, ledger_entry
from mediaplane.catalog.ingest.metrics import BATCH_SECONDS, EVENTS
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
    ) -> None:
        self._pool = pool
        self._registry = registry
        self._js = js
        self._bus = bus
        self._retry = retry

    async def handle(self, msgs: Sequence[Msg]) -> None:
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
                entry = ledger_entry(
                    self._registry, msg.subject, msg.data, delivery.stream_sequence
                )
            except PoisonMessage as exc:
                await self._dead_letter(msg, delivery, f"undecodable: {exc}")
                continue
            pending.append(_Pending(msg, delivery, entry))
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


async def _fetch(subscription: JetStreamContext.PullSubscription, batch: int) -> list[Msg]:
    """The next fetch of up to `batch` messages; none when nothing came or NATS is away."""
    try:
        return await subscription.fetch(batch, timeout=FETCH_TIMEOUT)
    except TimeoutError:
        # Nothing to fetch. nats-py raises its own TimeoutError or, when the
        # fetch expires mid-way, asyncio's: both are TimeoutError subclasses.
        return []
    except Exception:
        # NATS reconnecting: the client reconnects by itself; try again shortly.
        _log.warning("ingest.fetch_failed", exc_info=True)
        await asyncio.sleep(FETCH_TIMEOUT)
        return []


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
    nc = await nats.connect(bus.url, name="catalog-ingest", max_reconnect_attempts=-1)
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
                # Enough unacked messages for a few fetches in flight, not more: a
                # batch's messages are acked together after its commit.
                max_ack_pending=settings.batch_size * 4,
            ),
        )
        subscription = await js.pull_subscribe_bind(durable=settings.durable, stream=bus.stream)
        ingestor = BatchIngestor(pool=pool, registry=registry, js=js, bus=bus, retry=retry)
        _log.info("ingest.started", durable=settings.durable, batch_size=settings.batch_size)
        # The next fetch runs while a batch is written: NATS delivers (and this
        # process parses) batch n+1 while Postgres works on batch n. Every fetched
        # batch is handled, also after `stop`, so no message waits for ack_wait.
        fetching = asyncio.ensure_future(_fetch(subscription, settings.batch_size))
        try:
            while True:
                msgs = await fetching
                last = stop.is_set()
                if not last:
                    fetching = asyncio.ensure_future(_fetch(subscription, settings.batch_size))
                if msgs:
                    try:
                        await ingestor.handle(msgs)
                    except Exception:
                        # An ack, NAK or dead-letter publish failed (NATS away): unanswered
                        # messages come back after ack_wait, and the ledger dedups them.
                        _log.warning("ingest.answer_failed", exc_info=True)
                if last:
                    break
        finally:
            fetching.cancel()  # when cancelled mid-batch; a no-op after the last fetch
        await subscription.unsubscribe()
    finally:
        await nc.drain()
