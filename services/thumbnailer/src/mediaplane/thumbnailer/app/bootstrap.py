"""The composition root: builds every adapter of the thumbnailer from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog import EVENTLOG_MIGRATIONS, EventStore, MigrationSource, Pool, migrate
from mediaplane.eventlog.database import open_pool
from mediaplane.observability import HealthChecks
from mediaplane.observability.health import Check
from mediaplane.servicekit import checks
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS
from mediaplane.storage import ObjectStore
from mediaplane.thumbnailer.adapters import images
from mediaplane.thumbnailer.adapters.cpu import CpuPool
from mediaplane.thumbnailer.adapters.video import Ffmpeg
from mediaplane.thumbnailer.app.render import Renderer
from mediaplane.thumbnailer.app.service import ThumbnailService
from mediaplane.thumbnailer.app.variants import VariantService
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings

THUMBNAILER_MIGRATIONS = MigrationSource.from_package(
    "thumbnailer", "mediaplane.thumbnailer.migrations"
)


async def apply_migrations(settings: ThumbnailerSettings) -> list[str]:
    return await migrate(
        settings.database_url, [EVENTLOG_MIGRATIONS, RATE_LIMIT_MIGRATIONS, THUMBNAILER_MIGRATIONS]
    )


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: ThumbnailerSettings
    registry: Registry
    pool: Pool
    store: EventStore
    objects: ObjectStore
    service: ThumbnailService
    variants: VariantService
    health: HealthChecks


def health_checks(
    settings: ThumbnailerSettings, pool: Pool, objects: ObjectStore, *, media_tools: bool
) -> HealthChecks:
    found: dict[str, Check] = {
        "postgres": checks.postgres(pool),
        "nats": checks.nats(settings.bus),
        "s3": checks.s3(objects, settings.bucket),
    }
    if media_tools:
        found["ffmpeg"] = checks.ffmpeg([settings.ffmpeg, settings.ffprobe])
    return HealthChecks(found)


@asynccontextmanager
async def open_resources(
    settings: ThumbnailerSettings, *, pool_size: int = 10, media_tools: bool = True
) -> AsyncIterator[Resources]:
    """Every resource of one thumbnailer process, closed on exit.

    `media_tools=False` (the relay) leaves ffmpeg out of readiness: a relay
    renders nothing.
    """
    images.limit_pillow(settings.limits.max_pixels)
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    cpu = CpuPool(settings.concurrency)
    try:
        objects = ObjectStore(settings.storage)
        await objects.require_buckets(settings.bucket, settings.variants.bucket)
        store = EventStore(pool, registry)
        ffmpeg = Ffmpeg(settings.ffmpeg, settings.ffprobe, settings.tool_limits)
        renderer = Renderer(settings, cpu, ffmpeg)
        service = ThumbnailService(
            pool=pool, store=store, objects=objects, renderer=renderer, settings=settings
        )
        yield Resources(
            settings=settings,
            registry=registry,
            pool=pool,
            store=store,
            objects=objects,
            service=service,
            variants=VariantService(
                pool=pool,
                store=store,
                objects=objects,
                cpu=cpu,
                ffmpeg=ffmpeg,
                settings=settings,
            ),
            health=health_checks(settings, pool, objects, media_tools=media_tools),
        )
    finally:
        cpu.close()
        await pool.close()
