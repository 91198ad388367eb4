"""Sign out everywhere against refreshes in flight: no refresh running beside it may mint a
token that outlives it. The first test forces the interleaving that used to leak a live
token (with locks held from the test and the sign-out's transaction open, on its own
connection with the real adapter function); the second races them over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import httpx
import psycopg
import pytest

from mediaplane.identity.adapters import accounts as sql
from mediaplane.identity.testing import Server, SignUp, refresh, session, tokens_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]


async def _waiting_on(database_url: str) -> set[str]:
    """The locks (`advisory`, `transactionid`, `tuple`...) the OAuth store's connections
    are waiting for."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        rows = await (
            await conn.execute(
                "SELECT wait_event FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'identity-oauth' AND wait_event_type = 'Lock'"
            )
        ).fetchall()
    return {row[0] for row in rows}


async def _until(
    task: asyncio.Task[httpx.Response], url: str, waits: Callable[[set[str]], bool]
) -> None:
    # Polls Postgres's view of another process: there is no event to wait for.
    while not task.done() and not waits(await _waiting_on(url)):  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def test_a_refresh_racing_sign_out_everywhere_gets_no_live_token(
    server: Server, sign_up: SignUp
) -> None:
    """The refresh has rotated its token when sign out everywhere revokes the user's tokens;
    it stores the successor after that revocation, before it commits."""
    user_id = uuid.UUID(await sign_up("racer@example.org"))
    tokens = await tokens_for(server, await session(server, "racer@example.org"))
    url = server.settings.database_url
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT family_id FROM refresh_tokens WHERE user_id = %s", (user_id,)
        ).fetchone()
    assert row is not None

    async with (
        await psycopg.AsyncConnection.connect(url) as family_lock,
        await psycopg.AsyncConnection.connect(url) as sign_out,
    ):
        # Stops the refresh between rotating its token and storing the successor.
        await family_lock.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('refresh-family:' || %s::text, 0))",
            (row[0],),
        )
        racing = asyncio.create_task(refresh(server, tokens["refresh_token"]))
        await _until(racing, url, lambda waits: "advisory" in waits)
        assert not racing.done(), racing.result().text
        # Sign out everywhere does its work (not committed yet), then the refresh goes on.
        await sql.sign_out_everywhere(sign_out, user_id)
        await family_lock.commit()
        await _until(racing, url, lambda waits: bool(waits - {"advisory"}))
        # It waits for the sign-out: finishing first is what let a token outlive it.
        assert not racing.done(), racing.result().text
        await sign_out.commit()
    answer = await racing

    # Refused outright: the user's grant was revoked while the refresh ran.
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_grant"
    with psycopg.connect(url) as conn:
        live = conn.execute(
            "SELECT count(*) FROM refresh_tokens WHERE user_id = %s AND revoked_at IS NULL",
            (user_id,),
        ).fetchone()
    assert live == (0,)


async def test_concurrent_refreshes_and_sign_out_everywhere_leave_nothing_usable(
    server: Server, sign_up: SignUp
) -> None:
    """The same through HTTP only, many at once: whatever order they land in, every
    refresh token handed out is refused after the sign-out answered."""
    await sign_up("crowd@example.org")
    cookie = await session(server, "crowd@example.org")
    families = [await tokens_for(server, cookie) for _ in range(6)]
    everywhere_cookie = await session(server, "crowd@example.org")

    results = await asyncio.gather(
        *(refresh(server, family["refresh_token"]) for family in families),
        server.http.delete("/v1/account/sessions", headers=everywhere_cookie),
    )
    *refreshed, signed_out = results
    assert signed_out.status_code == 204
    for answer in refreshed:
        if answer.status_code == 200:
            again = await refresh(server, answer.json()["refresh_token"])
            assert again.json()["error"] == "invalid_grant"
        else:
            assert answer.json()["error"] == "invalid_grant"
