"""Live file changes for Server-Sent Events: one LISTEN connection per API process, fanned out.

Ingest runs in another process; it NOTIFYs `catalog_changes` in the batch's
transaction, so a change is announced exactly when it becomes readable.
Each SSE stream gets a bounded queue: a client that does not read loses
changes (and is told so) rather than growing the process's memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import psycopg
import structlog

from mediaplane.catalog.adapters.ledger import CHANGES_CHANNEL, FileChange, decode_changes

QUEUE_SIZE = 1000
_RECONNECT_DELAY = 1.0
_log = structlog.get_logger(__name__)


class Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[FileChange] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    def offer(self, change: FileChange) -> None:
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.overflowed = True


class ChangeFeed:
    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._subscriptions: set[Subscription] = set()
        self.listening = asyncio.Event()

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        subscription = Subscription()
        self._subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._subscriptions.discard(subscription)

    def publish(self, changes: list[FileChange]) -> None:
        for change in changes:
            for subscription in list(self._subscriptions):
                subscription.offer(change)

    async def run(self) -> None:
        """LISTEN until cancelled, reconnecting after Postgres goes away."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._database_url, autocommit=True, application_name="catalog-changes"
                ) as conn:
                    await conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    self.listening.set()
                    async for notify in conn.notifies():
                        # Nobody streaming: decoding every ingest batch's changes would
                        # cost this process CPU a list then waits behind.
                        if self._subscriptions:
                            self.publish(decode_changes(notify.payload))
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.warning("changes.listen_failed", exc_info=True)
            self.listening.clear()
            await asyncio.sleep(_RECONNECT_DELAY)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ChangeFeed]:
        task = asyncio.create_task(self.run())
        try:
            yield self
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
