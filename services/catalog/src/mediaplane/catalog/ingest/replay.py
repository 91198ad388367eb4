"""`catalog ingest --from-seq N | --since TIME`: re-read JetStream into the ledger.

An ephemeral consumer (no acks, removed by the server when idle) reads the
stream from the given point up to the newest message present at start, and
every batch goes through the live path's `ingest`: events the ledger has are
skipped, missing ones are added and projected. The durable consumer is not
touched, so this can run while the catalog's ingest runs.

Unlike the live consumer, a failing batch stops the replay (the operator
fixes the cause and runs it again: it is idempotent); bodies that are not
events are counted and skipped, since the live consumer already
dead-lettered them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import nats
import nats.errors
import structlog
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from mediaplane.bus import BusSettings
from mediaplane.catalog.adapters.ledger import ingest
from mediaplane.catalog.domain.entries import LedgerEntry, PoisonMessage, trusted_ledger_entry
from mediaplane.contracts import Registry
from mediaplane.eventlog.database import Pool

_log = structlog.get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class ReplayReport:
    read: int
    inserted: int
    duplicates: int
    undecodable: int
    last_sequence: int | None


async def replay(
    *,
    pool: Pool,
    registry: Registry,
    bus: BusSettings,
    originals_bucket: str,
    from_seq: int | None = None,
    since: datetime | None = None,
    batch_size: int = 1000,
    idle_timeout: float = 2.0,
) -> ReplayReport:
    """Ingest the stream's messages from `from_seq` (or those stored since `since`)."""
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
        filter_subject=bus.subjects,
        inactive_threshold=60.0,
        mem_storage=True,
    )
    read = inserted = duplicates = undecodable = 0
    last: int | None = None
    nc = await nats.connect(bus.url, name="catalog-replay", **bus.connect_options())
    try:
        js = nc.jetstream()
        subscription = await js.pull_subscribe(bus.subjects, stream=bus.stream, config=config)
        while True:
            try:
                msgs = await subscription.fetch(batch_size, timeout=idle_timeout)
            except nats.errors.TimeoutError:
                break  # nothing left (or only messages of other subjects)
            entries: list[LedgerEntry] = []
            for msg in msgs:
                try:
                    entries.append(
                        trusted_ledger_entry(
                            registry,
                            msg.subject,
                            msg.data,
                            msg.metadata.sequence.stream,
                            originals={originals_bucket},
                        )
                    )
                except PoisonMessage as exc:
                    undecodable += 1
                    _log.warning("replay.undecodable", subject=msg.subject, reason=str(exc))
            if entries:
                async with pool.connection() as conn:
                    result = await ingest(conn, entries)
                inserted += result.inserted
                duplicates += result.duplicates
            read += len(msgs)
            last = msgs[-1].metadata.sequence.stream
            _log.info("replay.batch", read=read, inserted=inserted, last_sequence=last)
            if msgs[-1].metadata.num_pending == 0:
                break  # reached the newest message; the live consumer takes it from here
        await subscription.unsubscribe()
    finally:
        await nc.close()
    return ReplayReport(
        read=read,
        inserted=inserted,
        duplicates=duplicates,
        undecodable=undecodable,
        last_sequence=last,
    )
