"""The composition root: builds every adapter of the janitor from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from mediaplane.bus.progress import ConsumerProgress
from mediaplane.contracts import Registry, build_registry, utc_now
from mediaplane.eventlog.database import open_pool
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.store import EventStore
from mediaplane.janitor.adapters.metrics import JanitorMetrics
from mediaplane.janitor.adapters.progress import JetStreamProgress
from mediaplane.janitor.app.service import JanitorService
from mediaplane.janitor.config import PROJECTION_DURABLE, SERVICE, JanitorSettings
from mediaplane.observability import HealthChecks
from mediaplane.servicekit import checks
from mediaplane.storage import ObjectStore

JANITOR_MIGRATIONS = MigrationSource.from_package("janitor", "mediaplane.janitor.migrations")


async def apply_migrations(settings: JanitorSettings) -> list[str]:
    return await migrate(settings.database_url, [EVENTLOG_MIGRATIONS, JANITOR_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: JanitorSettings
    registry: Registry
    service: JanitorService
    health: HealthChecks


@asynccontextmanager
async def open_resources(
    settings: JanitorSettings,
    *,
    pool_size: int = 10,
    metrics: JanitorMetrics | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> AsyncIterator[Resources]:
    """Every resource of one janitor process, closed on exit."""
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    try:
        # Its own connection: sweeps read the projection consumer's progress
        # also in the `sweep` role, where no bus runs.
        async with ConsumerProgress(settings.bus, PROJECTION_DURABLE, name=SERVICE) as progress:
            objects = ObjectStore(settings.storage)
            store = EventStore(pool, registry)
            service = JanitorService(
                pool=pool,
                store=store,
                objects=objects,
                settings=settings,
                progress=JetStreamProgress(progress),
                metrics=metrics if metrics is not None else JanitorMetrics(),
                clock=clock,
            )
            yield Resources(
                settings=settings,
                registry=registry,
                service=service,
                health=HealthChecks(
                    {
                        "postgres": checks.postgres(pool),
                        "nats": checks.nats(settings.bus),
                        "s3": checks.s3(objects, settings.originals_bucket),
                    }
                ),
            )
    finally:
        await pool.close()
