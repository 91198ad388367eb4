"""The periodic sweeps of the worker role, each on its own interval (servicekit `every`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mediaplane.janitor.app.service import JanitorService
from mediaplane.janitor.domain.actions import Action
from mediaplane.servicekit.periodic import Job, every

Sweep = Callable[[], Awaitable[list[Action]]]


async def run_sweeps(service: JanitorService, purge_wanted: asyncio.Event) -> None:
    """Sweep until cancelled; the purge also runs as soon as `purge_wanted` is set.

    Cancelling mid-sweep is safe: the cleanup in progress rolls back and the
    next sweep (of this or another janitor) does it again.
    """
    settings = service.settings

    def failed(name: str) -> None:
        service.metrics.failures.labels(name).inc()

    async with asyncio.TaskGroup() as group:
        for name, interval, sweep, wake in (
            ("expiry", settings.expiry_interval, service.expire_sessions, None),
            ("reconcile", settings.reconcile_interval, service.remove_orphans, None),
            ("purge", settings.purge_interval, service.purge_files, purge_wanted),
        ):
            group.create_task(every(name, interval, _count(sweep), wake=wake, failed=failed))


def _count(sweep: Sweep) -> Job:
    async def job() -> int:
        return len(await sweep())

    return job
