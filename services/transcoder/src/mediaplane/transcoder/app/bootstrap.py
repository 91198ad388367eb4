"""The composition root: builds every adapter of the transcoder from its settings, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from mediaplane.contracts import Registry, build_registry
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.eventlog.migrator import EVENTLOG_MIGRATIONS, MigrationSource, migrate
from mediaplane.eventlog.store import EventStore
from mediaplane.observability import HealthChecks
from mediaplane.observability.health import Check
from mediaplane.servicekit import checks
from mediaplane.storage import ObjectStore
from mediaplane.transcoder.app.fanout import ChunkEncoder
from mediaplane.transcoder.app.generations import GenerationSweeper
from mediaplane.transcoder.app.metrics import TranscoderMetrics
from mediaplane.transcoder.app.service import TranscodeService
from mediaplane.transcoder.app.transcode import Transcoder
from mediaplane.transcoder.config import SERVICE, TranscoderSettings

TRANSCODER_MIGRATIONS = MigrationSource.from_package(
    "transcoder", "mediaplane.transcoder.migrations"
)


async def apply_migrations(settings: TranscoderSettings) -> list[str]:
    return await migrate(settings.database_url, [EVENTLOG_MIGRATIONS, TRANSCODER_MIGRATIONS])


@dataclass(frozen=True, kw_only=True)
class Resources:
    settings: TranscoderSettings
    registry: Registry
    pool: Pool
    store: EventStore
    objects: ObjectStore
    service: TranscodeService
    transcoder: Transcoder
    chunk_encoder: ChunkEncoder
    sweeper: GenerationSweeper
    health: HealthChecks


def health_checks(
    settings: TranscoderSettings, pool: Pool, objects: ObjectStore, *, media_tools: bool
) -> HealthChecks:
    """Readiness of a role: the worker also needs ffmpeg and ffprobe, the relay does not."""
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
    settings: TranscoderSettings,
    *,
    metrics: TranscoderMetrics | None = None,
    pool_size: int = 4,
    media_tools: bool = True,
) -> AsyncIterator[Resources]:
    """Every resource of one transcoder process, closed on exit.

    `media_tools=False` (the relay) leaves ffmpeg out of readiness: a relay
    encodes nothing.
    """
    registry = build_registry(settings.bus.subject_root)
    pool = await open_pool(
        settings.database_url, min_size=1, max_size=pool_size, application_name=SERVICE
    )
    try:
        objects = ObjectStore(settings.storage)
        await objects.require_buckets(settings.bucket)
        store = EventStore(pool, registry)
        metrics = metrics if metrics is not None else TranscoderMetrics()
        service = TranscodeService(
            pool=pool,
            store=store,
            worker_id=settings.worker_id,
            lease_seconds=settings.lease_seconds,
            owner_limit=settings.owner_limit,
            retirement=settings.retirement,
        )
        yield Resources(
            settings=settings,
            registry=registry,
            pool=pool,
            store=store,
            objects=objects,
            service=service,
            transcoder=Transcoder(
                service=service, objects=objects, settings=settings, metrics=metrics
            ),
            chunk_encoder=ChunkEncoder(
                service=service, objects=objects, settings=settings, metrics=metrics
            ),
            sweeper=GenerationSweeper(pool=pool, objects=objects, bucket=settings.bucket),
            health=health_checks(settings, pool, objects, media_tools=media_tools),
        )
    finally:
        await pool.close()
