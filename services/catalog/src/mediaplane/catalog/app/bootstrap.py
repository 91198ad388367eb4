"""The composition root: builds every adapter of the catalog from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from mediaplane.bus.health import ping as ping_nats
from mediaplane.catalog.app.changes import ChangeFeed
from mediaplane.catalog.app.media import MediaService
from mediaplane.catalog.app.queries import CatalogQueries
from mediaplane.catalog.config import SERVICE, CatalogSettings
from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.database import ping as ping_database
from mediaplane.eventlog.migrator import MigrationSource, migrate
from mediaplane.observability import HealthChecks
from mediaplane.observability.health import Check
from mediaplane.storage import ObjectStore

# The catalog produces no events: no event_log/outbox, only its own schema.
CATALOG_MIGRATIONS = MigrationSource.from_package("catalog", "mediaplane.catalog.migrations")


async def apply_migrations(settings: CatalogSettings) -> list[str]:
    return await migrate(settings.database_url, [CATALOG_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Catalog:
    settings: CatalogSettings
    registry: Registry
    pool: Pool
    objects: ObjectStore
    queries: CatalogQueries
    media: MediaService
    changes: ChangeFeed
    health: HealthChecks


def dependency_checks(
    settings: CatalogSettings, pool: Pool, *, with_nats: bool
) -> dict[str, Check]:
    """Postgres for every role; NATS only for ingest (the API never talks to it)."""

    if with_nats:
        return {
            "postgres": partial(ping_database, pool),
            "nats": partial(ping_nats, settings.bus),
        }
    return {"postgres": partial(ping_database, pool)}


@asynccontextmanager
async def catalog(settings: CatalogSettings, *, pool_size: int = 20) -> AsyncIterator[Catalog]:
    """Every resource of one catalog process, closed on exit."""
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

        yield Catalog(
            settings=settings,
            registry=build_registry(settings.bus.subject_root),
            pool=pool,
            objects=objects,
            queries=queries,
            media=MediaService(
                queries,
                objects,
                download_ttl=settings.download_ttl_seconds,
                hls_ttl=settings.hls_ttl_seconds,
            ),
            changes=changes,
            health=HealthChecks(
                {**dependency_checks(settings, pool, with_nats=False), "changes": listening}
            ),
        )
    finally:
        await pool.close()
