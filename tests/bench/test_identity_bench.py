"""identity: sign-in latency with its argon2id parameters, refreshes per second on one
process, and what verifying an identity-issued RS256 token costs a service next to
today's HS256 development token (servicekit's TokenVerifier, uncached, same run).

Ceilings in the same run: one argon2id verification alone (sign-in cannot be cheaper),
and `/health/live` round trips on the same server (no request can be cheaper).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from mediaplane.bus.testing import namespaced_settings
from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.identity.adapters.passwords import HASHER, hash_password, verify_password
from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.domain.policy import Backoff
from mediaplane.identity.testing import (
    PASSWORD,
    WEB_REDIRECT,
    make_settings,
    running,
    session,
    tokens_for,
)
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier

from .conftest import machine_description

SIGN_INS = 100
REFRESH_CHAINS = 8
REFRESHES_PER_CHAIN = 50
VERIFICATIONS = 2_000
pytestmark = pytest.mark.integration

DEV_SECRET = "bench-secret-that-is-long-enough-for-hs256"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed(work: Callable[[], object], count: int) -> float:
    """Seconds per call."""
    started = time.perf_counter()
    for _ in range(count):
        work()
    return (time.perf_counter() - started) / count


async def test_identity(pg_url: str, nats_namespace: NatsNamespace, tmp_path: Path) -> None:
    port = free_port_block(1)
    settings = make_settings(
        pg_url,
        namespaced_settings(nats_namespace),
        tmp_path / "mail",
        port,
        backoff=Backoff(free_failures=10**6),  # the benchmark signs in many times from one IP
    )
    await apply_migrations(settings)
    async with open_resources(settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="bench@example.org", password=PASSWORD, via="admin", verified=True
        )
        resources.provider.store.register_client(
            client_id="web",
            secret=None,
            redirect_uris=[WEB_REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            scope="openid offline_access files:read",
        )
    stored = hash_password(PASSWORD)
    argon2_alone = timed(lambda: verify_password(stored, PASSWORD), 20)

    async with running(settings) as server:
        health = []
        for _ in range(SIGN_INS):
            started = time.perf_counter()
            await server.http.get("/health/live")
            health.append(time.perf_counter() - started)
        sign_ins = []
        for _ in range(SIGN_INS):
            started = time.perf_counter()
            response = await server.http.post(
                "/v1/account/sessions", json={"email": "bench@example.org", "password": PASSWORD}
            )
            sign_ins.append(time.perf_counter() - started)
            assert response.status_code == 201

        cookie = await session(server, "bench@example.org")
        chains = [await tokens_for(server, cookie) for _ in range(REFRESH_CHAINS)]
        access_token = chains[0]["access_token"]

        async def chain(refresh_token: str) -> None:
            for _ in range(REFRESHES_PER_CHAIN):
                response = await server.http.post(
                    "/oauth/token",
                    data={
                        "grant_type": "refresh_token",
                        "refresh_token": refresh_token,
                        "client_id": "web",
                    },
                )
                assert response.status_code == 200, response.text
                refresh_token = response.json()["refresh_token"]

        started = time.perf_counter()
        await asyncio.gather(*(chain(c["refresh_token"]) for c in chains))
        refresh_seconds = time.perf_counter() - started
        refreshes_per_second = REFRESH_CHAINS * REFRESHES_PER_CHAIN / refresh_seconds

        # Uncached verification (cache_size=0): the cost of a token a service sees first.
        rs256 = TokenVerifier(
            AuthSettings(
                jwks_url=f"{server.url}/.well-known/jwks.json",
                issuer=server.url,
                audience="mediaplane",
            ),
            cache_size=0,
        )
        async with rs256.running():
            rs256_seconds = timed(lambda: rs256.verify(access_token), VERIFICATIONS)
    hs256 = TokenVerifier(AuthSettings(hs256_secret=DEV_SECRET), cache_size=0)
    dev_token = jwt.encode(
        {"sub": "bench", "exp": int(time.time()) + 3600}, DEV_SECRET, algorithm="HS256"
    )
    hs256_seconds = timed(lambda: hs256.verify(dev_token), VERIFICATIONS)

    parameters = HASHER
    print(
        f"\nidentity benchmark on {machine_description()}\n"
        f"argon2id m={parameters.memory_cost} KiB t={parameters.time_cost} "
        f"p={parameters.parallelism}: one verification {argon2_alone * 1000:.1f} ms\n"
        f"sign-in over HTTP ({SIGN_INS}, sequential):"
        f" p50 {percentile(sign_ins, 0.5) * 1000:.1f} ms,"
        f" p99 {percentile(sign_ins, 0.99) * 1000:.1f} ms"
        f" (ceiling /health/live p50 {percentile(health, 0.5) * 1000:.1f} ms)\n"
        f"refresh_token grants: {refreshes_per_second:.0f}/s on one process"
        f" ({REFRESH_CHAINS} concurrent chains x {REFRESHES_PER_CHAIN})\n"
        f"token verification, uncached: identity RS256 {rs256_seconds * 1e6:.0f} us,"
        f" dev HS256 {hs256_seconds * 1e6:.0f} us"
        f" ({rs256_seconds / hs256_seconds:.1f}x)"
    )
    # By design a sign-in costs at least the password hash.
    assert statistics.median(sign_ins) >= argon2_alone * 0.5
