"""Issue 14's "Bad input" list, the cases the other test modules did not cover yet: each
refused with its RFC 6749 error or its problem+json code.

Covered elsewhere: wrong password and unknown user (test_accounts), locked account
(test_accounts), reused and expired authorization codes, PKCE mismatch, unregistered
redirect URI at /authorize, refresh-token reuse, revoked access token, audience of
another API (test_oauth), expired device code (test_device_flow), verification link
replayed or expired and reset link replayed (test_accounts), registration while closed
(test_accounts), malformed and oversized bodies on sign-in and /oauth/token."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt

from mediaplane.identity.adapters.keys import ALGORITHM
from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.testing import (
    PASSWORD,
    Server,
    SignUp,
    code_for,
    exchange,
    running,
    session,
    sign_up,
    tokens_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]


def oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text


async def test_an_expired_reset_link_is_refused(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings()
    await apply_migrations(settings)
    async with running(settings) as server:
        async with open_resources(settings, pool_size=1) as resources:
            await resources.accounts.register(
                email="reset@example.org", password=PASSWORD, via="admin", verified=True
            )
        asked = await server.http.post(
            "/v1/account/password-resets", json={"email": "reset@example.org"}
        )
        assert asked.status_code == 202
        token = await server.token_from_mail("reset@example.org", "reset")
        # The link's hour has passed (the service's clock moved on).
        later = datetime.now(UTC) + timedelta(seconds=settings.lifetimes.mail_link_seconds + 1)
        server.app.state.accounts.clock = lambda: later
        expired = await server.http.post(
            "/v1/account/password-resets/confirm",
            json={"token": token, "password": "a brand new passphrase"},
        )
        problem(expired, 410, "link_invalid")
        # The old password still works: nothing was changed.
        still = await server.http.post(
            "/v1/account/sessions", json={"email": "reset@example.org", "password": PASSWORD}
        )
        assert still.status_code == 201


async def test_a_code_redeemed_with_another_redirect_uri_is_refused(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("redir@example.org")
    code, verifier = await code_for(server, await session(server, "redir@example.org"))
    other = await exchange(server, code, verifier, redirect_uri="https://evil.example/callback")
    oauth_error(other, 400, "invalid_grant")


async def test_a_code_redeemed_without_its_verifier_is_refused(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("nover@example.org")
    code, _ = await code_for(server, await session(server, "nover@example.org"))
    missing = await server.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:5173/callback",
            "client_id": "web",
        },
    )
    oauth_error(missing, 400, "invalid_request")


async def test_userinfo_refuses_a_token_for_another_audience_or_issuer(
    server: Server, sign_up: SignUp
) -> None:
    """Signed with identity's own current key, so only `aud`/`iss` are wrong."""
    user_id = uuid.UUID(await sign_up("aud@example.org"))
    async with open_resources(server.settings, pool_size=1) as resources:
        signing = resources.provider.keys.signing(resources.provider.clock())
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": server.url,
        "aud": "mediaplane",
        "sub": str(user_id),
        "client_id": "web",
        "scope": "openid",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": signing.kid}

    def bearer(**changed: Any) -> dict[str, str]:
        token = jwt.encode(header, {**claims, **changed}, signing.key, algorithms=[ALGORITHM])
        return {"Authorization": f"Bearer {token}"}

    assert (await server.http.get("/oauth/userinfo", headers=bearer())).status_code == 200
    for wrong in ({"aud": "some-other-api"}, {"iss": "https://elsewhere.example"}):
        refused = await server.http.get("/oauth/userinfo", headers=bearer(**wrong))
        oauth_error(refused, 401, "invalid_token")
        assert refused.headers["www-authenticate"].startswith("Bearer")
    expired = await server.http.get("/oauth/userinfo", headers=bearer(exp=now - 1))
    oauth_error(expired, 401, "invalid_token")


async def test_a_revoked_refresh_token_is_refused(server: Server) -> None:
    await sign_up(server, "rev@example.org")
    tokens = await tokens_for(server, await session(server, "rev@example.org"))
    revoked = await server.http.post(
        "/oauth/revoke",
        data={
            "token": tokens["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": "web",
        },
    )
    assert revoked.status_code == 200
    again = await server.http.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "web",
        },
    )
    oauth_error(again, 400, "invalid_grant")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/account/registrations",
        "/v1/account/email-verifications",
        "/v1/account/password-resets",
        "/v1/account/password-resets/confirm",
    ],
)
async def test_malformed_and_oversized_bodies_on_every_account_form(
    server: Server, path: str
) -> None:
    malformed = await server.http.post(
        path, content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(malformed, 400, "invalid_request")
    wrong_shape = await server.http.post(path, json=["a", "list"])
    problem(wrong_shape, 400, "invalid_request")
    huge = await server.http.post(path, json={"token": "x" * (64 * 1024)})
    problem(huge, 413, "payload_too_large")


async def test_bodies_a_signed_in_user_sends_are_checked_too(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("body@example.org")
    cookie = await session(server, "body@example.org")
    for path in ("/v1/account/device", "/v1/account/tokens"):
        malformed = await server.http.post(
            path, content=b"{not json", headers={**cookie, "content-type": "application/json"}
        )
        problem(malformed, 400, "invalid_request")
        huge = await server.http.post(path, json={"name": "x" * (64 * 1024)}, headers=cookie)
        problem(huge, 413, "payload_too_large")


async def test_token_requests_that_are_not_forms_are_refused(server: Server) -> None:
    as_json = await server.http.post(
        "/oauth/token", json={"grant_type": "client_credentials", "client_id": "svc"}
    )
    oauth_error(as_json, 400, "unsupported_grant_type")
    no_grant = await server.http.post("/oauth/token", data={"client_id": "web"})
    oauth_error(no_grant, 400, "unsupported_grant_type")
    huge = await server.http.post("/oauth/token", data={"grant_type": "x" * 70_000})
    problem(huge, 413, "payload_too_large")
