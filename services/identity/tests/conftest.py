"""Fixtures: the identity service on a real uvicorn port, its own database, a Maildir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from mediaplane.bus.testing import namespaced_settings
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.identity.app.bootstrap import apply_migrations
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.testing import (
    PASSWORD,
    Server,
    SignUp,
    make_settings,
    register_clients,
    running,
)
from mediaplane.identity.testing import sign_up as sign_up_user


@pytest.fixture
def make_identity_settings(
    pg_url: str, nats_namespace: NatsNamespace, tmp_path: Path
) -> Callable[..., IdentitySettings]:
    def build(**overrides: Any) -> IdentitySettings:
        port = overrides.pop("http_port", None) or free_port_block(1)
        maildir = overrides.pop("maildir", tmp_path / "mail")  # None: SMTP only
        return make_settings(
            pg_url, namespaced_settings(nats_namespace), maildir, port, **overrides
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
        return await sign_up_user(server, email, password)

    return run


@pytest.fixture
async def clients(server: Server) -> None:
    """`web`, `cli` and `svc` (`mediaplane.identity.testing.register_clients`)."""
    await register_clients(server.settings)
