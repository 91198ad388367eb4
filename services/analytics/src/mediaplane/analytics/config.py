"""Configuration from the environment: one frozen settings object per process."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from mediaplane.bus import BusSettings
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit

SERVICE = "analytics"
BEACON_STREAM = "BEACONS"
BEACON_SUBJECT_ROOT = "beacon"
# Raw beacons are kept this long in their stream; the day rollups for good.
BEACON_MAX_AGE = 30 * 24 * 3600.0
VIEW_RETENTION_DAYS = 90
BEACON_BUDGET = RateLimit(per_second=5.0, burst=300)


def beacon_bus(
    media: BusSettings, *, stream: str = BEACON_STREAM, subject_root: str = BEACON_SUBJECT_ROOT
) -> BusSettings:
    """The beacon stream's settings: same server, identity and dead letters as `media`,
    its own stream, subjects and age limit."""
    return BusSettings(
        url=media.url,
        stream=stream,
        subject_root=subject_root,
        dlq_stream=media.dlq_stream,
        dlq_subject_root=media.dlq_subject_root,
        duplicate_window=media.duplicate_window,
        max_age=BEACON_MAX_AGE,
        dlq_max_age=media.dlq_max_age,
        replicas=media.replicas,
        user=media.user,
        password=media.password,
    )


@dataclass(frozen=True, kw_only=True)
class AnalyticsSettings:
    database_url: str
    bus: BusSettings  # the platform's event stream (file facts)
    beacons: BusSettings  # the beacon stream
    auth: AuthSettings
    rate_limit: RateLimit = field(default_factory=RateLimit)
    # Beacons per viewer, in the shared `rate_buckets` (purpose `beacons`) so that
    # every API replica spends from one budget. A player sends a heartbeat every few
    # seconds and a handful of other beacons; even several tabs stay far below it.
    # Counted in beacons, not requests, so big batches cannot get around it.
    beacon_budget: RateLimit = field(default_factory=lambda: BEACON_BUDGET)
    rollup_batch_size: int = 500
    prune_interval: float = 3600.0  # seconds between the worker's retention prunes
    http_host: str = "127.0.0.1"
    http_port: int = 8085
    ops_port: int = 9161

    @classmethod
    def from_env(cls) -> AnalyticsSettings:
        env = os.environ
        bus = BusSettings.from_env(service=SERVICE)
        return cls(
            database_url=env["MEDIAPLANE_ANALYTICS_DATABASE_URL"],
            bus=bus,
            beacons=beacon_bus(
                bus,
                stream=env.get("MEDIAPLANE_BEACON_STREAM", BEACON_STREAM),
                subject_root=env.get("MEDIAPLANE_BEACON_SUBJECT_ROOT", BEACON_SUBJECT_ROOT),
            ),
            auth=AuthSettings.from_env(),
            rate_limit=RateLimit.from_env(),
            beacon_budget=RateLimit(
                per_second=float(
                    env.get("MEDIAPLANE_ANALYTICS_BEACONS_PER_SECOND", BEACON_BUDGET.per_second)
                ),
                burst=int(env.get("MEDIAPLANE_ANALYTICS_BEACON_BURST", BEACON_BUDGET.burst)),
            ),
            rollup_batch_size=int(env.get("MEDIAPLANE_ANALYTICS_BATCH_SIZE", 500)),
            prune_interval=float(env.get("MEDIAPLANE_ANALYTICS_PRUNE_INTERVAL", 3600.0)),
            http_host=env.get("MEDIAPLANE_ANALYTICS_HOST", "127.0.0.1"),
            http_port=int(env.get("MEDIAPLANE_ANALYTICS_PORT", 8085)),
            ops_port=int(env.get("MEDIAPLANE_ANALYTICS_OPS_PORT", 9161)),
        )
