"""The process roles as the Dockerfile runs them: `migrate`, then `api` serving discovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from mediaplane.identity.config import IdentitySettings

pytestmark = pytest.mark.integration


async def test_migrate_then_api_from_the_environment(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings()
    env = {
        **os.environ,
        "MEDIAPLANE_IDENTITY_DATABASE_URL": settings.database_url,
        "MEDIAPLANE_IDENTITY_ISSUER": settings.issuer,
        "MEDIAPLANE_IDENTITY_MAILDIR": str(settings.maildir),
        "MEDIAPLANE_IDENTITY_PORT": str(settings.http_port),
        "MEDIAPLANE_NATS_URL": settings.bus.url,
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

    api = await asyncio.create_subprocess_exec(
        *command, "api", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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
    finally:
        api.send_signal(signal.SIGTERM)
        await asyncio.wait_for(api.wait(), 30)
