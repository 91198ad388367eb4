"""Wake a loop on Postgres LISTEN/NOTIFY, with a timeout as the poll fallback."""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import structlog
from psycopg import sql
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

_log = structlog.get_logger(__name__)

OUTBOX_CHANNEL = "eventlog_outbox"
"""Appends notify it when they find the outbox empty (see store.py)."""


async def cancel_and_wait(task: asyncio.Task[None], *, retry_every: float = 1.0) -> None:
    """Cancel `task` and wait until it has ended, cancelling again if it carries on.

    On Python 3.11 a cancellation can be lost (`asyncio.wait_for` in a library
    swallows it when the awaited thing finishes at the same moment); a single
    `cancel()` + `await` would then wait for a loop that never ends.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=retry_every)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()


class Wakeup:
    """Set when a notification arrives on `channel`; reconnects (backing off) if Postgres goes away.

    Call `clear()` BEFORE looking for work and `wait()` after: a notification
    that arrives while the work is being done then makes `wait()` return at once.
    """

    def __init__(self, conninfo: str, channel: str) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name=f"listen-{self._channel}")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    @property
    def event(self) -> asyncio.Event:
        """The flag itself, for a loop that clears and waits on it (`servicekit.periodic`)."""
        return self._event

    def clear(self) -> None:
        self._event.clear()

    async def wait(self, seconds: float) -> None:
        """Until a notification arrived since `clear()`, or `seconds` passed."""
        # Not `asyncio.wait_for`: on Python 3.11 it can swallow a cancellation that
        # arrives as the wait ends, and a relay being stopped would then run on.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()

    def _log_lost_connection(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        _log.warning("listen connection lost", channel=self._channel, error=str(error))

    async def _listen(self) -> None:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(psycopg.OperationalError),
            wait=wait_exponential_jitter(multiplier=0.2, max=5.0, jitter=0.2),
            before_sleep=self._log_lost_connection,
        ):
            with attempt:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    # Notifications sent while not listening are lost: look for work once.
                    self._event.set()
                    async for _ in conn.notifies():
                        self._event.set()
