"""The composition root: builds every adapter of the catalog from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mediaplane.catalog.app.changes import ChangeFeed
from mediaplane.catalog.app.console import ConsoleQueries
from mediaplane.catalog.app.media import MediaService
from mediaplane.catalog.app.queries import CatalogQueries
from mediaplane.catalog.config import SERVICE, CatalogSettings
from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.migrator import MigrationSource, migrate
from mediaplane.observability import HealthChecks
from mediaplane.servicekit import checks
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS
from mediaplane.storage import ObjectStore

# The catalog produces no events: no event_log/outbox, only its own schema.
CATALOG_MIGRATIONS = MigrationSource.from_package("catalog", "mediaplane.catalog.migrations")


async def apply_migrations(settings: CatalogSettings) -> list[str]:
    return await migrate(settings.database_url, [RATE_LIMIT_MIGRATIONS, CATALOG_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: CatalogSettings
    registry: Registry
    pool: Pool
    objects: ObjectStore
    queries: CatalogQueries
    console: ConsoleQueries
    media: MediaService
    changes: ChangeFeed
    health: HealthChecks


@asynccontextmanager
async def open_resources(
    settings: CatalogSettings, *, pool_size: int = 20
) -> AsyncIterator[Resources]:
    """Every resource of one catalog process, closed on exit.

    `health` is the API's readiness (Postgres, the change feed): the API never
    talks to NATS. The ingest role adds its own (Postgres, NATS).
    """
    pool = await open_pool(
        settings.database_url, min_size=2, max_size=pool_size, application_name=SERVICE
    )
    try:
        objects = ObjectStore(settings.storage)
        queries = CatalogQueries(pool)
        changes = ChangeFeed(settings.database_url)

        async def listening() -> None:
            # Until LISTEN runs, SSE clients would miss changes: not ready yet.
            if not changes.listening.is_set():
                raise RuntimeError("not listening for changes")

        yield Resources(
            settings=settings,
            registry=build_registry(settings.bus.subject_root),
            pool=pool,
            objects=objects,
            queries=queries,
            console=ConsoleQueries(pool, plans=settings.plans),
            media=MediaService(
                queries,
                objects,
                download_ttl=settings.download_ttl_seconds,
                hls_ttl=settings.hls_ttl_seconds,
            ),
            changes=changes,
            health=HealthChecks({"postgres": checks.postgres(pool), "changes": listening}),
        )
    finally:
        await pool.close()
