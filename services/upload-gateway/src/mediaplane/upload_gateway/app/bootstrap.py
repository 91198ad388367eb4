"""The composition root: builds every adapter of the gateway from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.group_commit import GroupCommit
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.store import EventStore
from mediaplane.observability import HealthChecks
from mediaplane.observability.health import Check
from mediaplane.servicekit import checks
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS
from mediaplane.storage import ObjectStore
from mediaplane.upload_gateway.adapters.clamd import ClamdScanner, parse_address
from mediaplane.upload_gateway.app.service import UploadService
from mediaplane.upload_gateway.config import SERVICE, GatewaySettings

GATEWAY_MIGRATIONS = MigrationSource.from_package("gateway", "mediaplane.upload_gateway.migrations")


async def apply_migrations(settings: GatewaySettings) -> list[str]:
    return await migrate(
        settings.database_url, [EVENTLOG_MIGRATIONS, RATE_LIMIT_MIGRATIONS, GATEWAY_MIGRATIONS]
    )


def clamd_scanner(settings: GatewaySettings) -> ClamdScanner:
    """The verifier's scanner; scanning is required, so no clamd URL is a startup error."""
    if not settings.clamd_url:
        raise ValueError(
            "the verifier needs MEDIAPLANE_CLAMD_URL (tcp://host:port): "
            "no upload is verified without a malware scan"
        )
    parse_address(settings.clamd_url)
    return ClamdScanner(
        settings.clamd_url, timeout=settings.clamd_timeout, stream_max=settings.clamd_stream_max
    )


def verifier_health(resources: Resources, scanner: ClamdScanner) -> HealthChecks:
    """The verifier's readiness: the process's dependencies and clamd answering PING."""
    return HealthChecks({**resources.checks, "clamd": scanner.ping})


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: GatewaySettings
    registry: Registry
    pool: Pool
    store: EventStore
    objects: ObjectStore
    service: UploadService
    checks: Mapping[str, Check]
    health: HealthChecks


@asynccontextmanager
async def open_resources(
    settings: GatewaySettings, *, pool_size: int = 20
) -> AsyncIterator[Resources]:
    """Every resource of one gateway process, closed on exit."""
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=2, max_size=pool_size, application_name=SERVICE
    )
    try:
        objects = ObjectStore(settings.storage)
        await objects.require_buckets(settings.bucket)
        # Concurrent opens (a new stream each, so each appends alone) share commits.
        store = EventStore(pool, registry, group_commit=GroupCommit(pool))
        service = UploadService(pool=pool, store=store, objects=objects, settings=settings)
        dependencies: dict[str, Check] = {
            "postgres": checks.postgres(pool),
            "nats": checks.nats(settings.bus),
            "s3": checks.s3(objects, settings.bucket),
        }
        yield Resources(
            settings=settings,
            registry=registry,
            pool=pool,
            store=store,
            objects=objects,
            service=service,
            checks=dependencies,
            health=HealthChecks(dependencies),
        )
    finally:
        await pool.close()
