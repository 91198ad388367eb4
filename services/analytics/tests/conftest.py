from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.analytics.api.app import create_app
from mediaplane.analytics.app.bootstrap import apply_migrations
from mediaplane.analytics.config import AnalyticsSettings, beacon_bus
from mediaplane.bus.testing import namespaced_settings
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit

SECRET = "test-secret-of-the-analytics-api-0123456789"


@pytest.fixture
async def settings(pg_url: str, nats_namespace: NatsNamespace) -> AnalyticsSettings:
    media = namespaced_settings(nats_namespace)
    built = AnalyticsSettings(
        database_url=pg_url,
        bus=media,
        beacons=beacon_bus(
            media,
            stream=f"{nats_namespace.stream_prefix}_BEACONS",
            subject_root=f"{nats_namespace.subject_prefix}.beacon",
        ),
        auth=AuthSettings(hs256_secret=SECRET),
        rate_limit=RateLimit(per_second=10_000, burst=10_000),
        beacon_budget=RateLimit(per_second=5, burst=300),
        ops_port=free_port_block(),  # the worker role's ops HTTP: not the fixed 9161
    )
    await apply_migrations(built)
    return built


@pytest.fixture
async def pool(settings: AnalyticsSettings) -> AsyncIterator[Pool]:
    opened = await open_pool(settings.database_url, max_size=4)
    yield opened
    await opened.close()


@pytest.fixture
async def client(settings: AnalyticsSettings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


Auth = Callable[..., dict[str, str]]


@pytest.fixture
def auth() -> Auth:
    """`auth("alice")` -> headers with a bearer token (`roles=["admin"]` for an admin)."""

    def headers(sub: str = "alice", **claims: Any) -> dict[str, str]:
        token = jwt.encode({"sub": sub, "exp": int(time.time()) + 300, **claims}, SECRET, "HS256")
        return {"Authorization": f"Bearer {token}"}

    return headers
