"""The periodic sweeps of the worker role, each on its own interval."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from mediaplane.janitor.app.service import JanitorService
from mediaplane.janitor.domain.actions import Action

_log = structlog.get_logger(__name__)
Sweep = Callable[[], Awaitable[list[Action]]]


async def run_sweeps(service: JanitorService, purge_wanted: asyncio.Event) -> None:
    """Sweep until cancelled; the purge also runs as soon as `purge_wanted` is set.

    Cancelling mid-sweep is safe: the cleanup in progress rolls back and the
    next sweep (of this or another janitor) does it again.
    """
    settings = service.settings
    async with asyncio.TaskGroup() as group:
        group.create_task(
            _every(service, "expiry", settings.expiry_interval, service.expire_sessions)
        )
        group.create_task(
            _every(service, "reconcile", settings.reconcile_interval, service.remove_orphans)
        )
        group.create_task(
            _every(service, "purge", settings.purge_interval, service.purge_files, purge_wanted)
        )


async def _every(
    service: JanitorService,
    name: str,
    interval: float,
    sweep: Sweep,
    wake: asyncio.Event | None = None,
) -> None:
    while True:
        if wake is not None:
            wake.clear()  # before the sweep: work announced during it wakes the next one
        try:
            done = await sweep()
        except Exception:  # S3 or Postgres down: log, and try again next interval
            service.metrics.failures.labels(name).inc()
            _log.exception("sweep.failed", sweep=name)
        else:
            if done:
                _log.info("sweep.done", sweep=name, actions=len(done))
        if wake is None:
            await asyncio.sleep(interval)
        else:
            # asyncio.timeout, not wait_for: on 3.11 wait_for may swallow the
            # cancellation that stops the worker.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await wake.wait()
