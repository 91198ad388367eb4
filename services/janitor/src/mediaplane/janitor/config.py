"""Configuration from the environment (12-factor): one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from mediaplane.bus import BusSettings
from mediaplane.storage import StorageSettings

SERVICE = "janitor"
PROJECTION_DURABLE = "janitor-projection"

# A session is expired this long after its `expires_at`: completions that
# raced the deadline and events still on their way get time to arrive.
_EXPIRY_GRACE = timedelta(hours=1)
# Longer than the gateway's session TTL (24 h by default): an upload that old
# is garbage even if its session was never seen (e.g. the gateway's relay was down).
_ORPHAN_GRACE = timedelta(hours=25)
# How long a taken-down file's bytes are kept (for a restore) before the purge.
_TAKEDOWN_RETENTION = timedelta(days=30)
# First delay before a session or file whose cleanup failed is tried again
# (doubling per failure, at most an hour): one bad row never blocks a sweep.
_RETRY_DELAY = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class JanitorSettings:
    database_url: str
    bus: BusSettings
    storage: StorageSettings
    originals_bucket: str = "originals"
    renditions_bucket: str = "renditions"
    thumbnails_bucket: str = "thumbnails"
    expiry_grace: timedelta = _EXPIRY_GRACE
    orphan_grace: timedelta = _ORPHAN_GRACE
    takedown_retention: timedelta = _TAKEDOWN_RETENTION
    expiry_interval: float = 60.0
    reconcile_interval: float = 600.0
    purge_interval: float = 30.0
    batch_size: int = 100
    retry_delay: timedelta = _RETRY_DELAY
    http_host: str = "127.0.0.1"
    ops_port: int = 9141

    @property
    def managed_buckets(self) -> frozenset[str]:
        """The only buckets the janitor deletes from, whatever an event names."""
        return frozenset({self.originals_bucket, self.renditions_bucket, self.thumbnails_bucket})

    @classmethod
    def from_env(cls) -> JanitorSettings:
        env = os.environ

        def seconds(name: str, default: timedelta) -> timedelta:
            return timedelta(seconds=float(env.get(name, default.total_seconds())))

        def number(name: str, default: float) -> float:
            return float(env.get(name, default))

        return cls(
            database_url=env["MEDIAPLANE_JANITOR_DATABASE_URL"],
            bus=BusSettings.from_env(service="janitor"),
            storage=StorageSettings.from_env(service="janitor"),
            originals_bucket=env.get("MEDIAPLANE_ORIGINALS_BUCKET", "originals"),
            renditions_bucket=env.get("MEDIAPLANE_RENDITIONS_BUCKET", "renditions"),
            thumbnails_bucket=env.get("MEDIAPLANE_THUMBNAILS_BUCKET", "thumbnails"),
            expiry_grace=seconds("MEDIAPLANE_JANITOR_EXPIRY_GRACE", _EXPIRY_GRACE),
            orphan_grace=seconds("MEDIAPLANE_JANITOR_ORPHAN_GRACE", _ORPHAN_GRACE),
            takedown_retention=seconds(
                "MEDIAPLANE_JANITOR_TAKEDOWN_RETENTION", _TAKEDOWN_RETENTION
            ),
            expiry_interval=number("MEDIAPLANE_JANITOR_EXPIRY_INTERVAL", 60.0),
            reconcile_interval=number("MEDIAPLANE_JANITOR_RECONCILE_INTERVAL", 600.0),
            purge_interval=number("MEDIAPLANE_JANITOR_PURGE_INTERVAL", 30.0),
            batch_size=int(env.get("MEDIAPLANE_JANITOR_BATCH_SIZE", 100)),
            retry_delay=seconds("MEDIAPLANE_JANITOR_RETRY_DELAY", _RETRY_DELAY),
            http_host=env.get("MEDIAPLANE_JANITOR_HOST", "127.0.0.1"),
            ops_port=int(env.get("MEDIAPLANE_JANITOR_OPS_PORT", 9141)),
        )
