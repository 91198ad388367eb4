"""Signing-key rotation: a new key is published before it signs, and the old one stays
published until the last token it signed has expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from mediaplane.eventlog.database import open_pool
from mediaplane.identity.adapters.keys import KeyRing, rotate
from mediaplane.identity.app.provider import Provider
from mediaplane.identity.config import KeyRotation
from mediaplane.identity.testing import Server, SignUp, refresh, session, tokens_for
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier, Unauthorized

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]

ROTATION = KeyRotation(active_seconds=3600, publish_seconds=600)
ACCESS = 300


async def test_the_schedule_publishes_before_signing_and_keeps_until_tokens_expire(
    server: Server,
) -> None:
    start = datetime.now(UTC) + timedelta(days=365)  # after the server's own first key
    pool = await open_pool(server.settings.database_url, max_size=1)
    try:
        clock = [start]

        async def at(moment: datetime) -> KeyRing:
            clock[0] = moment
            return await rotate(pool, ROTATION, ACCESS, clock=lambda: clock[0])

        ring = await at(start)
        first = ring.signing(start)
        # Early in its life: nothing new.
        ring = await at(start + timedelta(seconds=60))
        assert [k.kid for k in ring.published(clock[0])] == [first.kid]
        # Within publish_seconds of retiring: the successor is published, not signing yet.
        soon = first.retires_at - timedelta(seconds=ROTATION.publish_seconds - 1)
        ring = await at(soon)
        second = ring.keys[-1]
        assert second.kid != first.kid
        assert second.activates_at == first.retires_at
        assert {k.kid for k in ring.published(soon)} == {first.kid, second.kid}
        assert ring.signing(soon).kid == first.kid
        # Retired: the successor signs; the old key is still published for its tokens.
        after = first.retires_at + timedelta(seconds=1)
        ring = await at(after)
        assert ring.signing(after).kid == second.kid
        assert {k.kid for k in ring.published(after)} == {first.kid, second.kid}
        # Once its last token has expired, it is gone.
        gone = first.retires_at + timedelta(seconds=ACCESS + 1)
        ring = await at(gone)
        assert [k.kid for k in ring.published(gone)] == [second.kid]
    finally:
        await pool.close()


async def test_old_tokens_verify_after_rotation_new_ones_use_the_new_key(
    server: Server, sign_up: SignUp
) -> None:
    """Over HTTP with servicekit's verifier, as the other services verify."""
    await sign_up("rot@example.org")
    old = await tokens_for(server, await session(server, "rot@example.org"))
    provider: Provider = server.app.state.provider
    old_kid = pyjwt.get_unverified_header(old["access_token"])["kid"]
    current = provider.keys.signing(provider.clock())
    assert current.kid == old_kid

    # Move the provider past the old key's retirement (its successor was published before).
    retired = current.retires_at + timedelta(seconds=1)
    pool = await open_pool(server.settings.database_url, max_size=1)
    try:
        await rotate(
            pool,
            provider.settings.rotation,
            ACCESS,
            clock=lambda: current.retires_at - timedelta(seconds=1),
        )
        provider.keys = await rotate(
            pool, provider.settings.rotation, ACCESS, clock=lambda: retired
        )
    finally:
        await pool.close()
    provider.clock = lambda: retired

    rotated = await refresh(server, old["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    new_kid = pyjwt.get_unverified_header(new["access_token"])["kid"]
    assert new_kid != old_kid

    settings = AuthSettings(
        jwks_url=f"{server.url}/.well-known/jwks.json", issuer=server.url, audience="mediaplane"
    )
    verifier = TokenVerifier(settings)
    async with verifier.running():
        assert (
            verifier.verify(old["access_token"]).owner == verifier.verify(new["access_token"]).owner
        )

    # When the old key's tokens have all expired, the key leaves the JWKS: a token it
    # signed no longer verifies anywhere.
    provider.clock = lambda: current.retires_at + timedelta(seconds=ACCESS + 1)
    published = (await server.http.get("/.well-known/jwks.json")).json()["keys"]
    assert [k["kid"] for k in published] == [new_kid]
    fresh = TokenVerifier(settings)
    async with fresh.running():
        with pytest.raises(Unauthorized):
            fresh.verify(old["access_token"])
        assert fresh.verify(new["access_token"])
