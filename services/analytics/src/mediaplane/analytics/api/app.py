"""The Litestar application of the analytics API (with its beacon publisher)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from litestar import Litestar

from mediaplane.analytics.api.problems import PROBLEMS
from mediaplane.analytics.api.routes import ROUTES
from mediaplane.analytics.app.bootstrap import open_resources
from mediaplane.analytics.app.ingest import BeaconIngest
from mediaplane.analytics.app.reports import Reports
from mediaplane.analytics.config import SERVICE, AnalyticsSettings
from mediaplane.bus import Bus
from mediaplane.observability import HealthChecks
from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit import checks
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.principal import limit_with


def _now() -> datetime:
    return datetime.now(UTC)


def create_app(settings: AnalyticsSettings, *, clock: Callable[[], datetime] = _now) -> Litestar:
    health = DeferredHealthChecks()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            # Publishes only: the beacon stream is provisioned (with its max_age) here too.
            bus = Bus(settings.beacons, resources.beacon_registry, producer=f"{SERVICE}-api")
            async with bus.running():
                app.state.ingest = BeaconIngest(
                    resources.pool,
                    settings.beacon_budget,
                    bus.publish,
                    clock=clock,
                )
                app.state.reports = Reports(resources.pool, clock)
                limit_with(app, resources.pool)
                health.target = HealthChecks(
                    {
                        "postgres": checks.postgres(resources.pool),
                        "nats": checks.nats(settings.beacons),
                    }
                )
                yield
                health.target = None

    return public_api(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        checks=health,
        auth=settings.auth,
        rate_limit=settings.rate_limit,
        problems=PROBLEMS,
    )
