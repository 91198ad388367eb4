"""The client (libs/client) against the real gateway and catalog on real ports, wired to
this test's database, bucket and JetStream names, and what stands in for the asynchronous
parts of the platform. These tests need two services, so they live here and not in
libs/client, which depends on no server package.

`platform.settle()` does at once what the verifier, the outbox relay and the catalog's
ingest consumer do in the background: verify the uploaded objects, then feed every new
gateway event to the catalog, so a test reads the catalog right after acting.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
import structlog
from litestar import Litestar

from mediaplane.bus import BusSettings
from mediaplane.bus.testing import namespaced_settings
from mediaplane.catalog.adapters.ledger import ingest
from mediaplane.catalog.api.app import create_app as create_catalog
from mediaplane.catalog.app.bootstrap import apply_migrations as migrate_catalog
from mediaplane.catalog.config import CatalogSettings
from mediaplane.catalog.testing import entries
from mediaplane.client import MediaplaneClient, RetryPolicy
from mediaplane.contracts import Event, FileUploadedV2, Registry, build_registry
from mediaplane.devstack.pytest_plugin import NatsNamespace, free_ports, served
from mediaplane.devstack.settings import StackSettings
from mediaplane.domain.quota import Plans, Quota
from mediaplane.eventlog.codec import decode_event
from mediaplane.eventlog.database import Pool, open_pool
from mediaplane.identity.app.bootstrap import apply_migrations as migrate_identity
from mediaplane.identity.testing import Server as IdentityServer
from mediaplane.identity.testing import make_settings as make_identity_settings
from mediaplane.identity.testing import register_clients
from mediaplane.identity.testing import running as running_identity
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.storage import ObjectStore
from mediaplane.upload_gateway.api.app import create_app as create_gateway
from mediaplane.upload_gateway.app.bootstrap import apply_migrations as migrate_gateway
from mediaplane.upload_gateway.app.bootstrap import clamd_scanner
from mediaplane.upload_gateway.app.service import UploadService
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.domain.policy import MiB, UploadLimits
from mediaplane.upload_gateway.worker.verifier import verify

SECRET = "test-secret-that-is-long-enough-for-hs256"
# 5 MiB is S3's smallest part: multipart tests stay small and fast.
PART = 5 * MiB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Retries without the production pauses.
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


def token(sub: str = "alice", **claims: Any) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + 600, **claims}
    return jwt.encode(payload, SECRET, algorithm="HS256")


@dataclass
class Platform:
    gateway_url: str
    catalog_url: str
    gateway: Litestar
    gateway_settings: GatewaySettings
    catalog_pool: Pool
    registry: Registry
    objects: ObjectStore
    _position: int = 0
    _verified: set[str] = field(default_factory=set)

    async def settle(self) -> None:
        """Verify uploaded objects (the verifier), then ingest new events (relay + catalog)."""
        uploaded, _ = await self._events(after=0)
        for event in uploaded:
            if isinstance(event, FileUploadedV2) and str(event.file_id) not in self._verified:
                service: UploadService = self.gateway.state.service
                await verify(service, self.objects, clamd_scanner(self.gateway_settings), event)
                self._verified.add(str(event.file_id))
        new, self._position = await self._events(after=self._position)
        if new:
            async with self.catalog_pool.connection() as conn:
                await ingest(conn, entries(self.registry, new))

    async def _events(self, *, after: int) -> tuple[list[Event], int]:
        """The gateway's events after log position `after`, and the last position."""
        async with await psycopg.AsyncConnection.connect(
            self.gateway_settings.database_url
        ) as conn:
            rows = await (
                await conn.execute(
                    "SELECT position, type, event_id, stream_id, data, metadata FROM event_log"
                    " WHERE position > %s ORDER BY position",
                    (after,),
                )
            ).fetchall()
        events, last = [], after
        for position, type_, event_id, stream_id, data, metadata in rows:
            events.append(
                decode_event(
                    self.registry,
                    type_=type_,
                    event_id=event_id,
                    stream_id=stream_id,
                    data=data,
                    metadata=metadata,
                )
            )
            last = position
        return events, last


@pytest.fixture
async def platform(
    stack: StackSettings, pg_url: str, nats_namespace: NatsNamespace, s3_bucket: str
) -> AsyncIterator[Platform]:
    storage = stack.storage_settings()
    bus = BusSettings(
        url=nats_namespace.url,
        stream=f"{nats_namespace.stream_prefix}_MEDIA",
        subject_root=f"{nats_namespace.subject_prefix}.media",
        dlq_stream=f"{nats_namespace.stream_prefix}_DLQ",
        dlq_subject_root=f"{nats_namespace.subject_prefix}.dlq",
    )
    auth = AuthSettings(hs256_secret=SECRET)
    rate = RateLimit(per_second=1000, burst=1000)
    # One database for both services: their tables and migration namespaces are distinct.
    gateway_settings = GatewaySettings(
        database_url=pg_url,
        bus=bus,
        storage=storage,
        auth=auth,
        bucket=s3_bucket,
        limits=UploadLimits(single_put_max=PART, part_size=PART),
        plans=Plans.only(Quota(bytes=500 * MiB)),
        rate_limit=rate,
        dev_mode=True,
        clamd_url=stack.clamd_url,
        dead_letters=bus,  # the test's admin identity stands in for `deadletters`
    )
    catalog_settings = CatalogSettings(
        database_url=pg_url,
        bus=bus,
        storage=storage,
        auth=auth,
        rate_limit=rate,
        playback_secret="client-tests-playback-secret-0123456789",
    )
    await migrate_gateway(gateway_settings)
    await migrate_catalog(catalog_settings)
    gateway = create_gateway(gateway_settings)
    # The services log to stdout, where the command's output goes: keep them apart.
    with structlog.testing.capture_logs():
        async with (
            served(gateway) as gateway_http,
            served(create_catalog(catalog_settings)) as catalog_http,
            await open_pool(pg_url, max_size=2) as pool,
        ):
            yield Platform(
                gateway_url=str(gateway_http.base_url).rstrip("/"),
                catalog_url=str(catalog_http.base_url).rstrip("/"),
                gateway=gateway,
                gateway_settings=gateway_settings,
                catalog_pool=pool,
                registry=build_registry(bus.subject_root),
                objects=ObjectStore(storage),
            )


MakeClient = Callable[..., MediaplaneClient]


@pytest.fixture
async def make_client(platform: Platform) -> AsyncIterator[MakeClient]:
    """`make_client(transport=None, sub="alice")`: an SDK client of the platform."""
    async with AsyncExitStack() as stack:

        def build(
            transport: httpx.AsyncBaseTransport | None = None, sub: str = "alice"
        ) -> MediaplaneClient:
            client = MediaplaneClient(
                platform.gateway_url,
                token(sub),
                catalog_url=platform.catalog_url,
                retry=FAST_RETRY,
                transport=transport,
            )
            stack.push_async_callback(client.aclose)
            return client

        yield build


MakeFile = Callable[..., Path]


@pytest.fixture
def make_file(tmp_path: Path) -> MakeFile:
    """`make_file(size, name="photo.png")`: a PNG-signed file of random bytes (the verifier
    sniffs it as an image, so it is accepted)."""

    def write(size: int, name: str = "photo.png") -> Path:
        path = tmp_path / name
        path.write_bytes(PNG_SIGNATURE + os.urandom(size - len(PNG_SIGNATURE)))
        return path

    return write


@pytest.fixture
def cli_env(platform: Platform) -> Callable[..., dict[str, str]]:
    """`cli_env(sub="alice")`: the environment the `mediaplane` command reads."""

    def build(sub: str | None = "alice") -> dict[str, str]:
        env = {
            "MEDIAPLANE_URL": platform.gateway_url,
            "MEDIAPLANE_CATALOG_URL": platform.catalog_url,
        }
        if sub is not None:
            env["MEDIAPLANE_TOKEN"] = token(sub)
        return env

    return build


@pytest.fixture
async def identity(
    pg_url: str, nats_namespace: NatsNamespace, tmp_path: Path
) -> AsyncIterator[IdentityServer]:
    """The identity service (OpenID provider) on a real port, with its `cli` client."""
    settings = make_identity_settings(
        pg_url, namespaced_settings(nats_namespace), tmp_path / "mail", free_ports()
    )
    await migrate_identity(settings)
    await register_clients(settings)
    with structlog.testing.capture_logs():
        async with running_identity(settings) as server:
            yield server


@pytest.fixture
def login_env(identity: IdentityServer, tmp_path: Path) -> dict[str, str]:
    """The environment of a `mediaplane` command that signs in at `identity`, keeping its
    tokens in this test's own credentials file."""
    return {
        "MEDIAPLANE_URL": identity.url,
        "MEDIAPLANE_ISSUER": identity.url,
        "MEDIAPLANE_CREDENTIALS": str(tmp_path / "config" / "credentials.json"),
    }
