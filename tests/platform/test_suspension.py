"""Accounts across services: the identity service's admin API suspends, deletes, re-plans a
user and sets their quota, and the gateway and the catalog act on it through `user.*` events.

The real identity service (uvicorn, its own database, its outbox relay to JetStream) signs a
person in with the code flow and PKCE; the gateway and the catalog verify its RS256 tokens
against its JWKS, as in production, and consume `user.*` (the gateway's accounts consumer,
the catalog's ingest). Each service has its own database. Nothing here measures time: each
wait is for an outcome, with a generous patience for a loaded machine.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from mediaplane.bus import Bus, BusSettings
from mediaplane.bus.testing import eventually, namespaced_settings
from mediaplane.catalog.api.app import create_app as catalog_app
from mediaplane.catalog.app.bootstrap import apply_migrations as migrate_catalog
from mediaplane.catalog.config import CatalogSettings, IngestSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.contracts import build_registry
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import NatsNamespace, served
from mediaplane.devstack.settings import StackSettings, database_url
from mediaplane.domain.quota import Plans, Quota
from mediaplane.eventlog.database import open_pool
from mediaplane.eventlog.relay import OutboxRelay
from mediaplane.identity.app.bootstrap import apply_migrations as migrate_identity
from mediaplane.identity.app.bootstrap import open_resources as identity_resources
from mediaplane.identity.testing import (
    PASSWORD,
    WEB_REDIRECT,
    Server,
    authorize,
    authorize_params,
    exchange,
    make_settings,
    pkce,
    redirect_query,
    refresh,
    running,
    session,
)
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit
from mediaplane.upload_gateway.api.app import create_app as gateway_app
from mediaplane.upload_gateway.app.bootstrap import apply_migrations as migrate_gateway
from mediaplane.upload_gateway.app.bootstrap import open_resources as gateway_resources
from mediaplane.upload_gateway.config import GatewaySettings
from mediaplane.upload_gateway.worker.accounts import register_accounts

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PATIENCE = 60.0  # seconds a failing wait hangs at most; a passing one returns at once
BODY = b"\x89PNG\r\n\x1a\n" + bytes(56)  # what an upload sends: the content is not judged here
SCOPES = "openid offline_access files:read files:write uploads:write"
# Free allows one file, pro three: the plan, not the token, decides.
PLANS = Plans(quotas={"free": Quota(files=1), "pro": Quota(files=3)}, default="free")
RATE = RateLimit(per_second=1000, burst=1000)
Client = httpx.AsyncClient


@pytest.fixture
def databases(stack: StackSettings) -> Iterator[Callable[[str], str]]:
    """`database("gateway")`: a fresh database per service (each has its own event log)."""
    created: list[str] = []
    run = uuid.uuid4().hex[:8]

    def create(service: str) -> str:
        name = f"mp_{service}_{run}"
        with psycopg.connect(stack.pg_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        created.append(name)
        return database_url(stack.pg_url, name)

    yield create
    with psycopg.connect(stack.pg_url, autocommit=True) as conn:
        for name in created:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@dataclass
class Platform:
    identity: Server
    gateway: Client
    catalog: Client
    gateway_settings: GatewaySettings


async def _register_web_client(identity: Server) -> None:
    async with identity_resources(identity.settings, pool_size=1) as resources:
        store = resources.provider.store
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="web",
                secret=None,
                redirect_uris=[WEB_REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                scope=SCOPES,
            )
        )


@asynccontextmanager
async def _catalog_ingest(settings: CatalogSettings, bus: BusSettings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    pool = await open_pool(settings.database_url, max_size=4)
    task = asyncio.create_task(
        run_ingest(
            pool=pool,
            registry=build_registry(bus.subject_root),
            bus=bus,
            settings=IngestSettings(
                batch_size=50, originals_bucket=settings.ingest.originals_bucket
            ),
            stop=stop,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await task
        await pool.close()


@pytest.fixture
async def platform(
    stack: StackSettings,
    databases: Callable[[str], str],
    nats_namespace: NatsNamespace,
    s3_bucket: str,
    tmp_path: Path,
) -> AsyncIterator[Platform]:
    bus = namespaced_settings(nats_namespace)
    port = free_port_block(1)
    identity_settings = make_settings(databases("identity"), bus, tmp_path / "mail", port)
    issuer = identity_settings.issuer
    # How production verifies: the provider's JWKS, its issuer, the platform audience.
    auth = AuthSettings(
        jwks_url=f"{issuer}/.well-known/jwks.json", issuer=issuer, audience="mediaplane"
    )
    gateway_settings = GatewaySettings(
        database_url=databases("gateway"),
        bus=bus,
        storage=stack.storage_settings(),
        auth=auth,
        bucket=s3_bucket,
        plans=PLANS,
        rate_limit=RATE,
    )
    catalog_settings = CatalogSettings(
        database_url=databases("catalog"),
        bus=bus,
        storage=stack.storage_settings(),
        auth=auth,
        rate_limit=RATE,
        playback_secret="a-playback-secret-for-the-suspension-test-0123",
        plans=PLANS,
        # The bucket the gateway's file events name (ingest dead-letters any other).
        ingest=IngestSettings(originals_bucket=s3_bucket),
    )
    await migrate_identity(identity_settings)
    await migrate_gateway(gateway_settings)
    await migrate_catalog(catalog_settings)

    async with AsyncExitStack() as stack_:
        identity = await stack_.enter_async_context(running(identity_settings))
        await _register_web_client(identity)

        async def signing_key_published() -> bool:
            keys = (await identity.http.get("/.well-known/jwks.json")).json()["keys"]
            return bool(keys)

        # The services fetch the key set once at start (then every half cache lifetime).
        await eventually(signing_key_published, within=PATIENCE)
        # Identity's outbox -> JetStream, as its relay role runs it.
        await stack_.enter_async_context(
            OutboxRelay(identity_settings.database_url, bus.url, poll_interval=0.2)
        )
        # The gateway's outbox too: its file events reach the catalog (usage per user).
        await stack_.enter_async_context(
            OutboxRelay(gateway_settings.database_url, bus.url, poll_interval=0.2)
        )
        # The gateway's accounts consumer, as its verifier process runs it.
        resources = await stack_.enter_async_context(
            gateway_resources(gateway_settings, pool_size=2)
        )
        consumer = Bus(bus, resources.registry, producer="upload-gateway")
        register_accounts(consumer, resources.service)
        await stack_.enter_async_context(consumer.running())
        await stack_.enter_async_context(_catalog_ingest(catalog_settings, bus))
        gateway = await stack_.enter_async_context(served(gateway_app(gateway_settings)))
        catalog = await stack_.enter_async_context(served(catalog_app(catalog_settings)))
        yield Platform(identity, gateway, catalog, gateway_settings)


async def _sign_up(identity: Server, email: str) -> str:
    registered = await identity.http.post(
        "/v1/account/registrations", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202, registered.text
    token = await identity.token_from_mail(email, "verify")
    verified = await identity.http.post("/v1/account/email-verifications", json={"token": token})
    assert verified.status_code == 204, verified.text
    signed_in = await identity.http.post(
        "/v1/account/sessions", json={"email": email, "password": PASSWORD}
    )
    assert signed_in.status_code == 201, signed_in.text
    user_id: str = signed_in.json()["user_id"]
    return user_id


async def _tokens(identity: Server, email: str) -> dict[str, Any]:
    """Sign in as a person would: the code flow with PKCE, for the API scopes."""
    verifier, challenge = pkce()
    cookie = await session(identity, email)
    query = redirect_query(
        await authorize(identity, cookie, **authorize_params(challenge, scope=SCOPES))
    )
    response = await exchange(identity, query["code"], verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _upload(gateway: Client, headers: dict[str, str]) -> httpx.Response:
    """Open a session and, when admitted, put the bytes and complete it."""
    opened = await gateway.post(
        "/v1/uploads",
        headers=headers,
        json={"filename": "a.png", "content_type": "image/png", "size": len(BODY)},
    )
    if opened.status_code != 201:
        return opened
    upload = opened.json()["upload"]
    async with httpx.AsyncClient(timeout=30) as s3:
        put = await s3.put(upload["url"], content=BODY, headers=upload["headers"])
    assert put.status_code == 200, put.text
    completed = await gateway.post(
        f"/v1/uploads/{opened.json()['session_id']}/complete", headers=headers, json={"parts": []}
    )
    assert completed.status_code == 202, completed.text
    return completed


async def _code(client: Client, path: str, headers: dict[str, str]) -> str | None:
    response = await client.get(path, headers=headers)
    if response.status_code == 200:
        return None
    return str(response.json()["code"])


async def test_identity_suspends_deletes_and_replans_users_across_services(
    platform: Platform,
) -> None:
    identity, gateway, catalog = platform.identity, platform.gateway, platform.catalog
    async with identity_resources(identity.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="root@example.org", password=PASSWORD, role="admin", via="admin", verified=True
        )
    admin = _bearer(await _tokens(identity, "root@example.org"))
    user_id = await _sign_up(identity, "una@example.org")
    tokens = await _tokens(identity, "una@example.org")
    una = _bearer(tokens)
    users = f"/v1/admin/users/{user_id}"
    # Reads that answer 404/200 for a live account, whatever it owns.
    gateway_read = f"/v1/uploads/{uuid.uuid4()}"

    # Signed in: uploads work, the catalog answers.
    first = await _upload(gateway, una)
    assert first.status_code == 202, first.text
    assert (await catalog.get("/v1/files", headers=una)).status_code == 200

    # The plan: free (one file) from registration, then pro (three) through the admin API.
    # The token still says `free`; the gateway's projection of the events wins.
    async def gateway_plan() -> str | None:
        async with await psycopg.AsyncConnection.connect(
            platform.gateway_settings.database_url
        ) as conn:
            cursor = await conn.execute(
                "SELECT plan FROM gateway_accounts WHERE owner = %s", (user_id,)
            )
            row = await cursor.fetchone()
        return row[0] if row else None

    await eventually(lambda: _equals(gateway_plan(), "free"), within=PATIENCE)
    over = await _upload(gateway, una)
    assert (over.status_code, over.json()["code"]) == (413, "quota_exceeded")
    changed = await identity.http.put(f"{users}/plan", json={"plan": "pro"}, headers=admin)
    assert changed.status_code == 204, changed.text
    await eventually(lambda: _equals(gateway_plan(), "pro"), within=PATIENCE)
    assert (await _upload(gateway, una)).status_code == 202

    # Suspended: both services refuse the still-valid access token; identity refreshes nothing.
    suspended = await identity.http.put(
        f"{users}/suspension", json={"reason": "spam"}, headers=admin
    )
    assert suspended.status_code == 204, suspended.text
    await _both_refuse(platform, una, "account_suspended")
    refused = await _upload(gateway, una)
    assert (refused.status_code, refused.json()["code"]) == (403, "account_suspended")
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await refresh(identity, tokens["refresh_token"])).json()["error"] == "invalid_grant"

    # Reinstated: the same token works again everywhere.
    reinstated = await identity.http.delete(f"{users}/suspension", headers=admin)
    assert reinstated.status_code == 204, reinstated.text
    await eventually(lambda: _equals(_code(catalog, "/v1/files", una), None), within=PATIENCE)
    await eventually(
        lambda: _equals(_code(gateway, gateway_read, una), "session_not_found"), within=PATIENCE
    )
    assert (await _upload(gateway, una)).status_code == 202

    # Deleted: refused for good, with its own code, and the files are deleted (the janitor
    # purges their objects after `file.deleted`, as after any deletion).
    assert await _live_files(platform, user_id) == 3
    deleted = await identity.http.delete(users, headers=admin)
    assert deleted.status_code == 204, deleted.text
    await _both_refuse(platform, una, "account_deleted")
    await eventually(lambda: _equals(_live_files(platform, user_id), 0), within=PATIENCE)


async def test_a_quota_change_reaches_the_gateway(platform: Platform) -> None:
    """An admin gives a user a tiny quota: their next upload is refused with the quota's
    code; back to the plan's, it is admitted. The catalog shows the effective quota."""
    identity, gateway, catalog = platform.identity, platform.gateway, platform.catalog
    async with identity_resources(identity.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="root@example.org", password=PASSWORD, role="admin", via="admin", verified=True
        )
    admin = _bearer(await _tokens(identity, "root@example.org"))
    user_id = await _sign_up(identity, "quin@example.org")
    quin = _bearer(await _tokens(identity, "quin@example.org"))
    quota = f"/v1/admin/users/{user_id}/quota"
    changed = await identity.http.put(
        f"/v1/admin/users/{user_id}/plan", json={"plan": "pro"}, headers=admin
    )
    assert changed.status_code == 204, changed.text
    assert (await _upload(gateway, quin)).status_code == 202

    async def gateway_override() -> tuple[Any, ...] | None:
        async with await psycopg.AsyncConnection.connect(
            platform.gateway_settings.database_url
        ) as conn:
            cursor = await conn.execute(
                "SELECT plan, quota_files, quota_bytes, quota_at IS NOT NULL"
                " FROM gateway_accounts WHERE owner = %s",
                (user_id,),
            )
            row = await cursor.fetchone()
        return tuple(row) if row else None

    # Smaller than one upload: the next one is refused, whatever the plan allows.
    tiny = await identity.http.put(quota, json={"bytes": 10}, headers=admin)
    assert tiny.status_code == 204, tiny.text
    await eventually(lambda: _equals(gateway_override(), ("pro", None, 10, True)), within=PATIENCE)
    refused = await _upload(gateway, quin)
    assert (refused.status_code, refused.json()["code"]) == (413, "quota_exceeded")

    async def catalog_quota() -> Any:
        usage = await catalog.get("/v1/admin/usage", params={"owner": user_id}, headers=admin)
        assert usage.status_code == 200, usage.text
        items = usage.json()["items"]
        return items[0]["quota"] if items else None

    pro = PLANS.quotas["pro"]
    expected = {"files": pro.files, "bytes": 10, "override_files": None, "override_bytes": 10}
    await eventually(lambda: _equals(catalog_quota(), expected), within=PATIENCE)

    # Back to the plan's quota (pro: three files): admitted again.
    cleared = await identity.http.delete(quota, headers=admin)
    assert cleared.status_code == 204, cleared.text
    await eventually(
        lambda: _equals(gateway_override(), ("pro", None, None, True)), within=PATIENCE
    )
    assert (await _upload(gateway, quin)).status_code == 202
    plan_quota = {"files": pro.files, "bytes": pro.bytes, "override_files": None,
                  "override_bytes": None}  # fmt: skip
    await eventually(lambda: _equals(catalog_quota(), plan_quota), within=PATIENCE)

    # A user or moderator may not change a quota.
    denied = await identity.http.put(quota, json={"files": 10**6}, headers=quin)
    assert (denied.status_code, denied.json()["code"]) == (403, "role_required")


async def _both_refuse(platform: Platform, headers: dict[str, str], code: str) -> None:
    """Wait until the gateway and the catalog both answer 403 `code` to `headers`."""
    reads = ((platform.gateway, f"/v1/uploads/{uuid.uuid4()}"), (platform.catalog, "/v1/files"))
    for client, path in reads:

        async def refused(client: Client = client, path: str = path) -> bool:
            return await _code(client, path, headers) == code

        await eventually(refused, within=PATIENCE)


async def _live_files(platform: Platform, owner: str) -> int:
    async with await psycopg.AsyncConnection.connect(
        platform.gateway_settings.database_url
    ) as conn:
        cursor = await conn.execute(
            "SELECT count(*) FROM gateway_files"
            " WHERE owner = %s AND status IN ('uploaded', 'verified')",
            (owner,),
        )
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
