"""`catalog ingest --from-seq N | --since TIME`: re-read JetStream into the ledger.

The bus's `read_stream` (an ephemeral consumer: no acks, removed by the
server when idle) reads the stream from the given point up to the newest
message present, and every batch goes through the live path's `ingest`: events the ledger has are
skipped, missing ones are added and projected. The durable consumer is not
touched, so this can run while the catalog's ingest runs.

Unlike the live consumer, a failing batch stops the replay (the operator
fixes the cause and runs it again: it is idempotent); bodies that are not
events are counted and skipped, since the live consumer already
dead-lettered them.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime

import structlog

from mediaplane.bus import BusSettings
from mediaplane.bus.replay import read_stream
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
    read = inserted = duplicates = undecodable = 0
    last: int | None = None
    stream = read_stream(
        bus,
        name="catalog-replay",
        from_seq=from_seq,
        since=since,
        batch_size=batch_size,
        idle_timeout=idle_timeout,
    )
    # Closed also when a batch fails: the connection goes with it.
    async with aclosing(stream) as batches:
        async for msgs in batches:
            entries: list[LedgerEntry] = []
            for msg in msgs:
                try:
                    entries.append(
                        trusted_ledger_entry(
                            registry,
                            msg.subject,
                            msg.data,
                            msg.stream_sequence,
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
            last = msgs[-1].stream_sequence
            _log.info("replay.batch", read=read, inserted=inserted, last_sequence=last)
    return ReplayReport(
        read=read,
        inserted=inserted,
        duplicates=duplicates,
        undecodable=undecodable,
        last_sequence=last,
    )
