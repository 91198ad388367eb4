"""Fixtures: a gateway wired to this test's own database, bucket and JetStream names."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mediaplane.bus import BusSettings
from mediaplane.bus.testing import namespaced_settings
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.devstack.settings import StackSettings
from mediaplane.domain.quota import Plans, Quota
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.upload_gateway.api.app import create_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.policy import MiB, UploadLimits

SECRET = "test-secret-that-is-long-enough-for-hs256"


def bus_settings(namespace: NatsNamespace, url: str | None = None) -> BusSettings:
    return namespaced_settings(namespace, url)


def make_settings(
    stack: StackSettings, pg_url: str, bus: BusSettings, bucket: str, **overrides: Any
) -> GatewaySettings:
    fields: dict[str, Any] = {
        "database_url": pg_url,
        "bus": bus,
        "storage": stack.storage_settings(),
        "auth": AuthSettings(hs256_secret=SECRET),
        "bucket": bucket,
        # Small parts keep multipart tests fast; 5 MiB is S3's minimum.
        "limits": UploadLimits(single_put_max=5 * MiB, part_size=5 * MiB),
        "plans": Plans.only(Quota(bytes=200 * MiB)),
        "rate_limit": RateLimit(per_second=1000, burst=1000),
        "clamd_url": stack.clamd_url,
    }
    fields.update(overrides)
    return GatewaySettings(**fields)


@pytest.fixture
def make_gateway_settings(
    stack: StackSettings, pg_url: str, nats_namespace: NatsNamespace, s3_bucket: str
) -> Callable[..., GatewaySettings]:
    def build(**overrides: Any) -> GatewaySettings:
        bus = overrides.pop("bus", bus_settings(nats_namespace))
        return make_settings(stack, pg_url, bus, s3_bucket, **overrides)

    return build


@pytest.fixture
async def settings(make_gateway_settings: Callable[..., GatewaySettings]) -> GatewaySettings:
    built = make_gateway_settings()
    await apply_migrations(built)
    return built


@pytest.fixture
async def client(settings: GatewaySettings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
async def s3() -> AsyncIterator[httpx.AsyncClient]:
    """The uploading client: talks to S3 only through presigned URLs."""
    async with httpx.AsyncClient(timeout=30) as http:
        yield http


def token(sub: str = "alice", *, expires_in: int = 300, secret: str = SECRET, **claims: Any) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + expires_in, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


Auth = Callable[..., dict[str, str]]
EventTypes = Callable[..., list[str]]


@pytest.fixture
def auth() -> Auth:
    """`auth("alice")` -> headers with a valid bearer token for owner alice."""

    def headers(sub: str = "alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(sub, **claims)}"}

    return headers


@pytest.fixture
def event_types(settings: GatewaySettings) -> EventTypes:
    """`event_types(stream_id=None)` -> the types in the gateway's event log, in order."""

    def read(stream_id: str | None = None) -> list[str]:
        with psycopg.connect(settings.database_url) as conn:
            if stream_id is None:
                rows = conn.execute("SELECT type FROM event_log ORDER BY position").fetchall()
            else:
                rows = conn.execute(
                    "SELECT type FROM event_log WHERE stream_id = %s ORDER BY version", (stream_id,)
                ).fetchall()
        return [row[0] for row in rows]

    return read
