"""Fixtures: a catalog wired to this test's own database, bucket and JetStream names."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus import BusSettings
from mediaplane.bus.testing import namespaced_settings
from mediaplane.catalog.adapters.ledger import IngestResult, ingest
from mediaplane.catalog.api.app import create_app
from mediaplane.catalog.app.bootstrap import apply_migrations
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import entries
from mediaplane.contracts import Event, Registry, build_registry
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.devstack.settings import StackSettings
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit

SECRET = "test-secret-that-is-long-enough-for-hs256"
PLAYBACK_SECRET = "test-playback-secret-of-the-catalog-0123"


@pytest.fixture
def bus_settings(nats_namespace: NatsNamespace) -> BusSettings:
    return namespaced_settings(nats_namespace)


@pytest.fixture
async def settings(stack: StackSettings, pg_url: str, bus_settings: BusSettings) -> CatalogSettings:
    built = CatalogSettings(
        database_url=pg_url,
        bus=bus_settings,
        storage=stack.storage_settings(),
        auth=AuthSettings(hs256_secret=SECRET),
        rate_limit=RateLimit(per_second=10_000, burst=10_000),
        playback_secret=PLAYBACK_SECRET,
        playback_ttl_seconds=600,
    )
    await apply_migrations(built)
    return built


@pytest.fixture
def registry(bus_settings: BusSettings) -> Registry:
    return build_registry(bus_settings.subject_root)


@pytest.fixture
async def pool(settings: CatalogSettings) -> AsyncIterator[Pool]:
    opened = await open_pool(settings.database_url, max_size=4)
    yield opened
    await opened.close()


Ingest = Callable[[Sequence[Event]], Awaitable[IngestResult]]


@pytest.fixture
def ingest_events(pool: Pool, registry: Registry) -> Ingest:
    """`await ingest_events(events)`: the live path's transaction for one batch, without NATS."""

    async def run(events: Sequence[Event]) -> IngestResult:
        async with pool.connection() as conn:
            return await ingest(conn, entries(registry, list(events)))

    return run


class Clock:
    """The API's clock for playback token expiry: real time plus what a test skipped."""

    def __init__(self) -> None:
        self.skipped = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skipped

    def advance(self, by: timedelta) -> None:
        self.skipped += by


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(
    settings: CatalogSettings, clock: Clock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as test_client:
        yield test_client


Auth = Callable[..., dict[str, str]]


def token(sub: str, **claims: Any) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + 300, **claims}, SECRET, "HS256")


@pytest.fixture
def auth() -> Auth:
    """`auth("alice")` -> headers with a bearer token for owner alice (`roles=["admin"]`...)."""

    def headers(sub: str = "alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(sub, **claims)}"}

    return headers


@pytest.fixture
def bearer() -> Callable[..., str]:
    """A raw API token (to show it is refused where it does not belong)."""
    return token
