"""Periodic jobs of a worker role (the janitor's sweeps, analytics' prune): run the job,
wait its interval or an early wake-up, run it again, until cancelled.

A failing job is logged and counted and runs again next interval: a database or
S3 that is away for a while must not stop the role.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog

_log = structlog.get_logger(__name__)

# A job returns how much it did (logged when not zero).
Job = Callable[[], Awaitable[int]]


async def every(
    name: str,
    interval: float,
    job: Job,
    *,
    wake: asyncio.Event | None = None,
    failed: Callable[[str], None] | None = None,
) -> None:
    """Run `job` now and then every `interval` seconds (sooner when `wake` is set);
    `failed(name)` hears of each failure. Never returns: cancel it to stop."""
    while True:
        if wake is not None:
            wake.clear()  # before the job: work announced during it wakes the next run
        try:
            done = await job()
        except Exception:
            if failed is not None:
                failed(name)
            _log.exception("periodic.failed", job=name)
        else:
            if done:
                _log.info("periodic.done", job=name, done=done)
        if wake is None:
            await asyncio.sleep(interval)
        else:
            # asyncio.timeout, not wait_for: on 3.11 wait_for may swallow the
            # cancellation that stops the worker.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await wake.wait()


@asynccontextmanager
async def running(
    name: str, interval: float, job: Job, *, wake: asyncio.Event | None = None
) -> AsyncIterator[None]:
    """`every(name, interval, job, wake=wake)` in the background while the block runs;
    cancelled when it ends (a worker role's `async with`, beside its bus and ops server)."""
    task = asyncio.create_task(every(name, interval, job, wake=wake))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
