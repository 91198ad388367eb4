"""The composition root: every resource of one analytics process, from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mediaplane.analytics.config import SERVICE, AnalyticsSettings
from mediaplane.contracts import Registry, build_beacon_registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.migrator import MigrationSource, migrate
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS

# analytics produces no platform events: no event_log/outbox, only its own schema.
ANALYTICS_MIGRATIONS = MigrationSource.from_package("analytics", "mediaplane.analytics.migrations")


async def apply_migrations(settings: AnalyticsSettings) -> list[str]:
    return await migrate(settings.database_url, [RATE_LIMIT_MIGRATIONS, ANALYTICS_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: AnalyticsSettings
    registry: Registry  # the platform's events
    beacon_registry: Registry
    pool: Pool


@asynccontextmanager
async def open_resources(
    settings: AnalyticsSettings, *, pool_size: int = 10
) -> AsyncIterator[Resources]:
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    try:
        yield Resources(
            settings=settings,
            registry=build_registry(settings.bus.subject_root),
            beacon_registry=build_beacon_registry(settings.beacons.subject_root),
            pool=pool,
        )
    finally:
        await pool.close()
