"""Personal access tokens: created by their owner (shown once, stored hashed), scoped,
expiring, listed and revoked; exchanged (RFC 8693) for short-lived access tokens that
servicekit verifies like any other."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import jwt as pyjwt
import psycopg
import pytest

from mediaplane.identity.testing import Server, SignUp, session
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
PAT_TYPE = "urn:mediaplane:params:oauth:token-type:personal-access-token"


async def create(server: Server, cookie: dict[str, str], **body: Any) -> httpx.Response:
    fields = {"name": "backup script", "scopes": ["files:read"], "expires_in_days": 30, **body}
    return await server.http.post("/v1/account/tokens", json=fields, headers=cookie)


async def exchange(server: Server, secret: str) -> httpx.Response:
    return await server.http.post(
        "/oauth/token",
        data={
            "grant_type": EXCHANGE,
            "subject_token": secret,
            "subject_token_type": PAT_TYPE,
            "client_id": "cli",
        },
    )


async def test_a_token_is_shown_once_stored_hashed_and_exchanged_for_an_access_token(
    server: Server, sign_up: SignUp
) -> None:
    user_id = await sign_up("pat@example.org")
    cookie = await session(server, "pat@example.org")
    created = await create(server, cookie, scopes=["files:read", "uploads:write"])
    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("mppat_")
    with psycopg.connect(server.settings.database_url) as conn:
        stored = conn.execute("SELECT token_sha256 FROM personal_access_tokens").fetchone()
    assert stored == (hashlib.sha256(secret.encode()).digest(),)

    listed = (await server.http.get("/v1/account/tokens", headers=cookie)).json()
    assert [t["name"] for t in listed] == ["backup script"]
    assert "token" not in listed[0]

    exchanged = await exchange(server, secret)
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert "refresh_token" not in body
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "files:read uploads:write"
    verifier = TokenVerifier(
        AuthSettings(
            jwks_url=f"{server.url}/.well-known/jwks.json", issuer=server.url, audience="mediaplane"
        )
    )
    async with verifier.running():
        assert verifier.verify(body["access_token"]).owner == user_id
    listed = (await server.http.get("/v1/account/tokens", headers=cookie)).json()
    assert listed[0]["last_used_at"] is not None


async def test_a_revoked_or_expired_token_is_refused(server: Server, sign_up: SignUp) -> None:
    await sign_up("rev@example.org")
    cookie = await session(server, "rev@example.org")
    created = (await create(server, cookie)).json()
    revoked = await server.http.delete(f"/v1/account/tokens/{created['id']}", headers=cookie)
    assert revoked.status_code == 204
    refused = await exchange(server, created["token"])
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    assert (await server.http.get("/v1/account/tokens", headers=cookie)).json()[0]["revoked"]

    expiring = (await create(server, cookie, name="old")).json()
    with psycopg.connect(server.settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE personal_access_tokens SET expires_at = now() - interval '1 second'"
            " WHERE token_id = %s",
            (expiring["id"],),
        )
    assert (await exchange(server, expiring["token"])).json()["error"] == "invalid_grant"
    made_up = await exchange(server, "mppat_" + "x" * 43)
    assert made_up.json()["error"] == "invalid_grant"


async def test_only_the_owner_lists_and_revokes(server: Server, sign_up: SignUp) -> None:
    await sign_up("own@example.org")
    await sign_up("oth@example.org")
    owner = await session(server, "own@example.org")
    other = await session(server, "oth@example.org")
    created = (await create(server, owner)).json()
    assert (await server.http.get("/v1/account/tokens", headers=other)).json() == []
    stolen = await server.http.delete(f"/v1/account/tokens/{created['id']}", headers=other)
    assert (stolen.status_code, stolen.json()["code"]) == (404, "token_not_found")
    anonymous = await server.http.get("/v1/account/tokens")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_signed_in")
    assert (await exchange(server, created["token"])).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"scopes": ["admin:all"]}, "invalid_scope"),
        ({"scopes": []}, "invalid_scope"),
        ({"expires_in_days": 0}, "invalid_expiry"),
        ({"expires_in_days": 3650}, "invalid_expiry"),
    ],
)
async def test_bad_token_requests(
    server: Server, sign_up: SignUp, body: dict[str, Any], code: str
) -> None:
    await sign_up("bad@example.org")
    refused = await create(server, await session(server, "bad@example.org"), **body)
    assert (refused.status_code, refused.json()["code"]) == (422, code)
