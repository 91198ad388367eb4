"""Fixtures: the identity service on a real uvicorn port, its own database, a Maildir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mediaplane.bus.testing import namespaced_settings
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.testing import (
    PASSWORD,
    SERVICE_SECRET,
    SIGNED_OUT,
    WEB_REDIRECT,
    Server,
    SignUp,
    make_settings,
    running,
)


@pytest.fixture
def make_identity_settings(
    pg_url: str, nats_namespace: NatsNamespace, tmp_path: Path
) -> Callable[..., IdentitySettings]:
    def build(**overrides: Any) -> IdentitySettings:
        port = overrides.pop("http_port", None) or free_port_block(1)
        return make_settings(
            pg_url, namespaced_settings(nats_namespace), tmp_path / "mail", port, **overrides
        )

    return build


@pytest.fixture
async def server(
    make_identity_settings: Callable[..., IdentitySettings],
) -> AsyncIterator[Server]:
    settings = make_identity_settings()
    await apply_migrations(settings)
    async with running(settings) as started:
        yield started


@pytest.fixture
def sign_up(server: Server) -> SignUp:
    """`await sign_up(email)`: registers, verifies from the mail, returns the user id."""

    async def run(email: str, password: str = PASSWORD) -> str:
        response = await server.http.post(
            "/v1/account/registrations", json={"email": email, "password": password}
        )
        assert response.status_code == 202, response.text
        token = server.token_from_mail(email.lower(), "verify")
        verified = await server.http.post("/v1/account/email-verifications", json={"token": token})
        assert verified.status_code == 204, verified.text
        signed_in = await server.http.post(
            "/v1/account/sessions", json={"email": email, "password": password}
        )
        assert signed_in.status_code == 201, signed_in.text
        user_id: str = signed_in.json()["user_id"]
        return user_id

    return run


@pytest.fixture
async def clients(server: Server) -> None:
    """`web` (public: code + PKCE, refresh), `cli` (public: device flow, refresh) and `svc`
    (confidential: client credentials)."""
    async with open_resources(server.settings, pool_size=1) as resources:
        store = resources.provider.store
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="web",
                secret=None,
                redirect_uris=[WEB_REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                scope="openid email offline_access files:read uploads:write",
                post_logout_redirect_uris=[SIGNED_OUT],
            )
        )
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="cli",
                secret=None,
                redirect_uris=[],
                grant_types=[
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                    "refresh_token",
                ],
                scope="openid offline_access files:read files:write uploads:write",
            )
        )
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="svc",
                secret=SERVICE_SECRET,
                redirect_uris=[],
                grant_types=["client_credentials"],
                scope="files:read",
            )
        )
