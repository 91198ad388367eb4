"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mediaplane.bus import BusSettings
from mediaplane.domain.quota import Plans, plans_from_env
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.storage import StorageSettings

SERVICE = "catalog"


@dataclass(frozen=True, kw_only=True)
class IngestSettings:
    """The durable consumer of every event: batch size trades latency for throughput."""

    durable: str = "catalog-ingest"
    batch_size: int = 500
    # Batches written at once, each its own transaction (and pool connection).
    writers: int = 2
    max_deliver: int = 5
    backoff: tuple[float, ...] = (1.0, 5.0, 30.0)
    ack_wait: float = 30.0
    # The bucket file events may name (downloads are presigned from it): an
    # event naming another, or a key outside its owner's prefix, is dead-lettered.
    originals_bucket: str = "originals"


@dataclass(frozen=True, kw_only=True)
class CatalogSettings:
    database_url: str
    bus: BusSettings
    storage: StorageSettings
    auth: AuthSettings
    rate_limit: RateLimit = field(default_factory=RateLimit)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    download_ttl_seconds: int = 3600
    hls_ttl_seconds: int = 1800
    # Signs playback tokens (HLS playlist URLs); the API refuses to start without it.
    playback_secret: str | None = field(default=None, repr=False)
    playback_ttl_seconds: int = 1800
    # The gateway's quota per plan (the same `MEDIAPLANE_PLANS`): the admin usage view shows
    # each user's effective quota from it and the user's override.
    plans: Plans = field(default_factory=Plans.standard)
    http_host: str = "127.0.0.1"
    http_port: int = 8082
    ops_port: int = 9111

    @classmethod
    def from_env(cls) -> CatalogSettings:
        env = os.environ

        def number(name: str, default: int) -> int:
            return int(env.get(name, default))

        return cls(
            database_url=env["MEDIAPLANE_CATALOG_DATABASE_URL"],
            bus=BusSettings.from_env(service="catalog"),
            storage=StorageSettings.from_env(service="catalog"),
            auth=AuthSettings.from_env(),
            rate_limit=RateLimit.from_env(),
            ingest=IngestSettings(
                batch_size=number("MEDIAPLANE_CATALOG_BATCH_SIZE", 500),
                writers=number("MEDIAPLANE_CATALOG_INGEST_WRITERS", 2),
                max_deliver=number("MEDIAPLANE_CATALOG_MAX_DELIVER", 5),
                originals_bucket=env.get("MEDIAPLANE_ORIGINALS_BUCKET", "originals"),
            ),
            download_ttl_seconds=number("MEDIAPLANE_PRESIGN_TTL", 3600),
            hls_ttl_seconds=number("MEDIAPLANE_CATALOG_HLS_TTL", 1800),
            playback_secret=env.get("MEDIAPLANE_CATALOG_PLAYBACK_SECRET") or None,
            playback_ttl_seconds=number("MEDIAPLANE_CATALOG_PLAYBACK_TTL", 1800),
            plans=plans_from_env(env.get("MEDIAPLANE_PLANS"), env.get("MEDIAPLANE_DEFAULT_PLAN")),
            http_host=env.get("MEDIAPLANE_CATALOG_HOST", "127.0.0.1"),
            http_port=number("MEDIAPLANE_CATALOG_PORT", 8082),
            ops_port=number("MEDIAPLANE_CATALOG_OPS_PORT", 9111),
        )
