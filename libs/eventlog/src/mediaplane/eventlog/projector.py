"""Catch-up projector: follows event_log and applies a projection with exactly-once effects.

Exactly once: each batch runs in ONE transaction that applies the projection
(which writes through the given connection) and moves the checkpoint row; a
crash rolls both back, so the batch is applied again, never twice.

Gap safety: `position` is taken from a sequence before commit, so a reader
tailing `position > checkpoint` can pass over a row whose transaction commits
later (position 10 still in flight while 11 is already visible), and never
read it. This projector instead reads in (transaction_id, position) order and
only rows of transactions older than every transaction still running
(`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`): those
transactions have all ended, so no row can ever appear before the checkpoint.
Appends refuse to follow a head written by a younger transaction (see
store.py), so this order is also each stream's version order.

The price: a long-running transaction anywhere on the server holds the
projector back until it ends (it never skips, it waits). Chosen over a table
lock on append, which would serialize every writer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import structlog
from psycopg.types.json import set_json_loads
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from mediaplane.contracts import Registry
from mediaplane.eventlog import codec
from mediaplane.eventlog.database import Pool
from mediaplane.eventlog.records import RecordedEvent
from mediaplane.eventlog.wakeup import OUTBOX_CHANNEL, Wakeup

_log = structlog.get_logger(__name__)

Projection = Callable[[psycopg.AsyncConnection[Any], RecordedEvent], Awaitable[None]]
"""Applies one event to a read model, writing only through the given connection."""

_ENSURE_CHECKPOINT = b"""
INSERT INTO projection_checkpoints (name) VALUES (%s) ON CONFLICT (name) DO NOTHING
"""

# SKIP LOCKED: another instance of the same projection holds the batch; let it.
_LOCK_CHECKPOINT = b"""
SELECT transaction_id, position FROM projection_checkpoints WHERE name = %s FOR UPDATE SKIP LOCKED
"""

_READ = b"""
SELECT position, stream_id, version, event_id, type, data, metadata, recorded_at, transaction_id
FROM event_log
WHERE (transaction_id, position) > (%(transaction_id)s::xid8, %(position)s)
  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id, position
LIMIT %(limit)s
"""

_SAVE_CHECKPOINT = b"""
UPDATE projection_checkpoints
SET transaction_id = %s::xid8, position = %s, updated_at = now()
WHERE name = %s
"""


class Projector:
    """Applies `projection` to every event in log order, checkpointed under `name`."""

    def __init__(
        self,
        pool: Pool,
        registry: Registry,
        name: str,
        projection: Projection,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self._pool = pool
        self._registry = registry
        self.name = name
        self._projection = projection
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        if not isinstance(pool.conninfo, str):
            raise TypeError("the projector listens for appends: build the pool from a URL")
        self._wakeup = Wakeup(pool.conninfo, OUTBOX_CHANNEL)
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Project the next batch; returns how many events it applied (0: nothing ready)."""
        async with self._pool.connection() as conn:
            await conn.execute(_ENSURE_CHECKPOINT, (self.name,))
            async with conn.transaction():
                checkpoint = await (await conn.execute(_LOCK_CHECKPOINT, (self.name,))).fetchone()
                if checkpoint is None:
                    return 0
                events, last = await self._read(conn, checkpoint[0], checkpoint[1])
                for recorded in events:
                    await self._projection(conn, recorded)
                if last is not None:
                    await conn.execute(_SAVE_CHECKPOINT, (last[0], last[1], self.name))
        return len(events)

    async def catch_up(self) -> int:
        """Project until nothing is ready; returns how many events were applied."""
        total = 0
        while applied := await self.run_once():
            total += applied
        return total

    async def start(self) -> None:
        """Project in the background, woken by appends or every `poll_interval`."""
        if self._task is None:
            self._wakeup.start()
            self._task = asyncio.create_task(self._run(), name=f"projector-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._wakeup.stop()

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            async for attempt in AsyncRetrying(
                # A failing projection is retried too: skipping an event would break exactly-once.
                retry=retry_if_exception_type(Exception),
                wait=wait_exponential_jitter(multiplier=0.1, max=self._max_backoff, jitter=0.1),
                before_sleep=self._on_retry,
            ):
                with attempt:
                    applied = await self.catch_up()
            if not applied:
                await self._wakeup.wait(self._poll_interval)

    def _on_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        _log.warning(
            "projection batch failed, backing off",
            projection=self.name,
            attempt=state.attempt_number,
            error=f"{type(error).__name__}: {error}",
        )

    async def _read(
        self, conn: psycopg.AsyncConnection[Any], transaction_id: str, position: int
    ) -> tuple[list[RecordedEvent], tuple[str, int] | None]:
        params = {"transaction_id": transaction_id, "position": position, "limit": self._batch_size}
        events: list[RecordedEvent] = []
        last: tuple[str, int] | None = None
        async with conn.cursor() as cursor:
            set_json_loads(codec.loads, cursor)
            await cursor.execute(_READ, params)
            async for row in cursor:
                row_position, stream_id, version, event_id, type_, data, metadata = row[:7]
                recorded_at, row_transaction_id = row[7:]
                event = codec.decode_event(
                    self._registry,
                    type_=type_,
                    event_id=event_id,
                    stream_id=stream_id,
                    data=data,
                    metadata=metadata,
                )
                events.append(
                    RecordedEvent(row_position, stream_id, version, recorded_at, event, metadata)
                )
                last = (row_transaction_id, row_position)
        return events, last
