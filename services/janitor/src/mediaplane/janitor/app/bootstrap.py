"""The composition root: builds every adapter of the janitor from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import nats
from nats.aio.client import Client as NatsClient

from mediaplane.contracts import Registry, build_registry, utc_now
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.database import ping as ping_database
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.store import EventStore
from mediaplane.janitor.adapters.metrics import JanitorMetrics
from mediaplane.janitor.adapters.progress import JetStreamProgress
from mediaplane.janitor.app.service import JanitorService
from mediaplane.janitor.config import PROJECTION_DURABLE, SERVICE, JanitorSettings
from mediaplane.observability import HealthChecks
from mediaplane.storage import ObjectNotFound, ObjectStore

JANITOR_MIGRATIONS = MigrationSource.from_package("janitor", "mediaplane.janitor.migrations")


async def apply_migrations(settings: JanitorSettings) -> list[str]:
    return await migrate(settings.database_url, [EVENTLOG_MIGRATIONS, JANITOR_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Janitor:
    settings: JanitorSettings
    registry: Registry
    service: JanitorService
    health: HealthChecks


def health_checks(
    settings: JanitorSettings, pool: Pool, nc: NatsClient, objects: ObjectStore
) -> HealthChecks:
    async def nats_server() -> None:
        if not nc.is_connected:
            raise ConnectionError("not connected to NATS")
        await nc.flush(timeout=1)

    async def s3() -> None:
        # A read of a key nobody writes: any answer but "no such object" is a failure.
        try:
            await objects.stat(settings.originals_bucket, ".janitor-health-check")
        except ObjectNotFound:
            return

    return HealthChecks({"postgres": partial(ping_database, pool), "nats": nats_server, "s3": s3})


@asynccontextmanager
async def janitor(
    settings: JanitorSettings,
    *,
    pool_size: int = 10,
    metrics: JanitorMetrics | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[Janitor]:
    """Every resource of one janitor process, closed on exit."""
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    try:
        # Its own connection: sweeps read the projection consumer's progress
        # also in the `sweep` role, where no bus runs.
        nc = await nats.connect(
            settings.bus.url,
            name=SERVICE,
            max_reconnect_attempts=-1,
            **settings.bus.connect_options(),
        )
        try:
            objects = ObjectStore(settings.storage)
            store = EventStore(pool, registry)
            service = JanitorService(
                pool=pool,
                store=store,
                objects=objects,
                settings=settings,
                progress=JetStreamProgress(nc.jetstream(), settings.bus, PROJECTION_DURABLE),
                metrics=metrics if metrics is not None else JanitorMetrics(),
                clock=clock,
            )
            yield Janitor(
                settings=settings,
                registry=registry,
                service=service,
                health=health_checks(settings, pool, nc, objects),
            )
        finally:
            await nc.close()
    finally:
        await pool.close()
