"""The process roles as the Dockerfile runs them: `migrate`, then `api` serving discovery
and `relay`, which also sends the mails the API writes (and counts them on its /metrics)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import httpx
import nats
import pytest

from mediaplane.bus import provision
from mediaplane.bus.testing import eventually
from mediaplane.devstack.ports import free_port_block
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.testing import PASSWORD

pytestmark = pytest.mark.integration


async def test_migrate_then_api_and_relay_from_the_environment(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings()
    bus = settings.bus
    nc = await nats.connect(bus.url)
    try:
        await provision(nc.jetstream(), bus)  # where the relay publishes the user events
    finally:
        await nc.close()
    env = {
        **os.environ,
        "MEDIAPLANE_IDENTITY_DATABASE_URL": settings.database_url,
        "MEDIAPLANE_IDENTITY_ISSUER": settings.issuer,
        "MEDIAPLANE_IDENTITY_MAILDIR": str(settings.maildir),
        "MEDIAPLANE_IDENTITY_PORT": str(settings.http_port),
        "MEDIAPLANE_IDENTITY_REGISTRATION": "open",
        "MEDIAPLANE_IDENTITY_OPS_PORT": str(free_port_block(2)),
        "MEDIAPLANE_NATS_URL": bus.url,
        "MEDIAPLANE_STREAM": bus.stream,
        "MEDIAPLANE_SUBJECT_ROOT": bus.subject_root,
    }
    command = [sys.executable, "-m", "mediaplane.identity"]
    migrated = await asyncio.to_thread(
        subprocess.run, [*command, "migrate"], env=env, capture_output=True, text=True, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "identity/0001_identity.sql" in migrated.stdout

    refused = await asyncio.to_thread(
        subprocess.run,
        [*command, "api"],
        env={**env, "MEDIAPLANE_IDENTITY_ISSUER": "http://identity.example.org"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "must be https" in refused.stderr

    api, relay = [
        await asyncio.create_subprocess_exec(
            *command, role, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for role in ("api", "relay")
    ]
    assert settings.maildir is not None
    delivered = settings.maildir / "new"
    try:
        async with httpx.AsyncClient(base_url=settings.issuer, timeout=5) as http:
            for _ in range(300):
                try:
                    response = await http.get("/.well-known/openid-configuration")
                    break
                except httpx.HTTPError:
                    assert api.returncode is None, "the api process exited"
                    await asyncio.sleep(0.1)
            assert response.status_code == 200
            assert response.json()["issuer"] == settings.issuer
            assert (await http.get("/health/ready")).status_code == 200
            registered = await http.post(
                "/v1/account/registrations", json={"email": "pat@example.org", "password": PASSWORD}
            )
            assert registered.status_code == 202, registered.text
        # The API only wrote the mail: the relay role sends it.
        await eventually(lambda: delivered.is_dir() and any(delivered.iterdir()))
        assert relay.returncode is None, "the relay process exited"
        [mail] = delivered.iterdir()
        assert "verify-token: " in mail.read_text()
        # The sender's metrics are on the relay's ops /metrics (ops port + 1).
        metrics_url = f"http://127.0.0.1:{int(env['MEDIAPLANE_IDENTITY_OPS_PORT']) + 1}/metrics"

        async def counted() -> bool:
            async with httpx.AsyncClient(timeout=5) as http:
                text = (await http.get(metrics_url)).text
            return 'identity_mails_sent_total{kind="verify_email"} 1.0' in text

        await eventually(counted)
    finally:
        for process in (api, relay):
            process.send_signal(signal.SIGTERM)
        for process in (api, relay):
            await asyncio.wait_for(process.wait(), 30)
