"""The OAuth 2 / OIDC provider over real HTTP: code + PKCE, refresh rotation and reuse
detection, revocation, client credentials, userinfo, discovery and JWKS, and the proof
that servicekit's JWKS verifier (what every other service runs) accepts its tokens."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt as pyjwt
import pytest

from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.config import IdentitySettings, TokenLifetimes
from mediaplane.identity.testing import (
    PASSWORD,
    SERVICE_SECRET,
    WEB_REDIRECT,
    Server,
    SignUp,
    authorize,
    authorize_params,
    code_for,
    exchange,
    pkce,
    redirect_query,
    refresh,
    running,
    session,
    tokens_for,
)
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier, Unauthorized

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]


def oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.text


def verifier_for(server: Server, audience: str = "mediaplane") -> TokenVerifier:
    """What every other service runs (MEDIAPLANE_JWKS_URL, _JWT_ISSUER, _JWT_AUDIENCE)."""
    return TokenVerifier(
        AuthSettings(
            jwks_url=f"{server.url}/.well-known/jwks.json",
            issuer=server.url,
            audience=audience,
        )
    )


async def test_code_flow_with_pkce_gives_tokens_servicekit_accepts(
    server: Server, sign_up: SignUp
) -> None:
    user_id = await sign_up("alice@example.org")
    tokens = await tokens_for(server, await session(server, "alice@example.org"))
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 300
    assert {"access_token", "refresh_token", "id_token"} <= set(tokens)

    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user_id
    assert claims["roles"] == ["user"]
    assert claims["plan"] == "free"
    assert claims["iss"] == server.url
    assert claims["aud"] == "mediaplane"
    assert claims["exp"] - claims["iat"] == 300
    header = pyjwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256"
    assert header["kid"]

    # servicekit's verifier, fetching the JWKS over HTTP, accepts it.
    verifier = verifier_for(server)
    async with verifier.running():
        principal = verifier.verify(tokens["access_token"])
    assert principal.owner == user_id
    assert principal.admin is False

    id_claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert id_claims["sub"] == user_id
    assert id_claims["aud"] == ["web"]
    assert id_claims["email"] == "alice@example.org"

    info = await server.http.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200
    assert info.json()["sub"] == user_id
    assert info.json()["email"] == "alice@example.org"
    assert info.json()["roles"] == ["user"]


async def test_an_admins_token_makes_an_admin_principal(server: Server, sign_up: SignUp) -> None:
    user_id = await sign_up("root@example.org")
    async with open_resources(server.settings, pool_size=1) as resources:
        await resources.accounts.change_role(uuid.UUID(user_id), "admin", by="test")
    tokens = await tokens_for(server, await session(server, "root@example.org"))
    verifier = verifier_for(server)
    async with verifier.running():
        assert verifier.verify(tokens["access_token"]).admin is True


async def test_a_token_for_another_audience_is_refused(server: Server, sign_up: SignUp) -> None:
    await sign_up("bob@example.org")
    tokens = await tokens_for(server, await session(server, "bob@example.org"))
    verifier = verifier_for(server, audience="some-other-api")
    async with verifier.running():
        with pytest.raises(Unauthorized, match=r"(?i)audience"):
            verifier.verify(tokens["access_token"])


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("carol@example.org")
    first = await tokens_for(server, await session(server, "carol@example.org"))
    rotated = await refresh(server, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    # The first token again: someone kept a copy. Refused, and the family is revoked.
    oauth_error(await refresh(server, first["refresh_token"]), 400, "invalid_grant")
    oauth_error(await refresh(server, second["refresh_token"]), 400, "invalid_grant")


async def test_a_refresh_token_raced_twice_leaves_no_live_token(
    server: Server, sign_up: SignUp
) -> None:
    """Two refreshes with one token at once (a thief and the owner): at most one gets
    tokens, and then the family is revoked, so what it got dies too."""
    await sign_up("race@example.org")
    first = await tokens_for(server, await session(server, "race@example.org"))
    results = await asyncio.gather(
        refresh(server, first["refresh_token"]), refresh(server, first["refresh_token"])
    )
    assert sorted(r.status_code for r in results) in ([200, 400], [400, 400])
    for result in results:
        if result.status_code == 200:
            oauth_error(await refresh(server, result.json()["refresh_token"]), 400, "invalid_grant")


async def test_revoking_a_refresh_token_ends_it(server: Server, sign_up: SignUp) -> None:
    await sign_up("dave@example.org")
    tokens = await tokens_for(server, await session(server, "dave@example.org"))
    revoked = await server.http.post(
        "/oauth/revoke",
        data={"token": tokens["refresh_token"], "client_id": "web"},
    )
    assert revoked.status_code == 200, revoked.text
    oauth_error(await refresh(server, tokens["refresh_token"]), 400, "invalid_grant")
    # Revoking an unknown token is not an error (RFC 7009 section 2.2).
    unknown = await server.http.post("/oauth/revoke", data={"token": "nope", "client_id": "web"})
    assert unknown.status_code == 200


async def test_a_revoked_access_token_is_refused_by_userinfo(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("erin@example.org")
    tokens = await tokens_for(server, await session(server, "erin@example.org"))
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await server.http.get("/oauth/userinfo", headers=bearer)).status_code == 200
    revoked = await server.http.post(
        "/oauth/revoke",
        data={
            "token": tokens["access_token"],
            "token_type_hint": "access_token",
            "client_id": "web",
        },
    )
    assert revoked.status_code == 200
    oauth_error(await server.http.get("/oauth/userinfo", headers=bearer), 401, "invalid_token")


async def test_sign_out_everywhere_revokes_refresh_tokens(server: Server, sign_up: SignUp) -> None:
    await sign_up("fay@example.org")
    cookie = await session(server, "fay@example.org")
    tokens = await tokens_for(server, cookie)
    assert (await server.http.delete("/v1/account/sessions", headers=cookie)).status_code == 204
    oauth_error(await refresh(server, tokens["refresh_token"]), 400, "invalid_grant")


async def test_a_suspended_user_cannot_refresh(server: Server, sign_up: SignUp) -> None:
    user_id = await sign_up("gus@example.org")
    tokens = await tokens_for(server, await session(server, "gus@example.org"))
    async with open_resources(server.settings, pool_size=1) as resources:
        await resources.accounts.suspend(uuid.UUID(user_id), reason="abuse", by="test")
    oauth_error(await refresh(server, tokens["refresh_token"]), 400, "invalid_grant")


async def test_an_authorization_code_works_once(server: Server, sign_up: SignUp) -> None:
    await sign_up("hal@example.org")
    code, verifier = await code_for(server, await session(server, "hal@example.org"))
    first = await exchange(server, code, verifier)
    assert first.status_code == 200
    oauth_error(await exchange(server, code, verifier), 400, "invalid_grant")
    # The reuse revoked what the first exchange got.
    oauth_error(await refresh(server, first.json()["refresh_token"]), 400, "invalid_grant")


async def test_a_wrong_pkce_verifier_is_refused(server: Server, sign_up: SignUp) -> None:
    await sign_up("ida@example.org")
    code, _ = await code_for(server, await session(server, "ida@example.org"))
    oauth_error(await exchange(server, code, secrets.token_urlsafe(48)), 400, "invalid_grant")


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": ""},
        {"code_challenge_method": "plain"},
        {"response_type": "token"},
        {"scope": "openid admin:everything"},
    ],
)
async def test_bad_authorization_requests_redirect_with_an_error(
    server: Server, sign_up: SignUp, overrides: dict[str, str]
) -> None:
    await sign_up("jo@example.org")
    _, challenge = pkce()
    params = {k: v for k, v in authorize_params(challenge, **overrides).items() if v}
    response = await authorize(server, await session(server, "jo@example.org"), **params)
    query = redirect_query(response)
    assert query["error"] in {"invalid_request", "unsupported_response_type", "invalid_scope"}
    assert "code" not in query


async def test_an_unregistered_redirect_uri_gets_no_redirect(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("kai@example.org")
    _, challenge = pkce()
    response = await authorize(
        server,
        await session(server, "kai@example.org"),
        **authorize_params(challenge, redirect_uri="https://evil.example/callback"),
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.json()["error"] in {"invalid_request", "invalid_client"}


async def test_authorize_needs_a_signed_in_user(server: Server) -> None:
    _, challenge = pkce()
    response = await server.http.get("/oauth/authorize", params=authorize_params(challenge))
    assert response.status_code == 401
    assert response.json()["code"] == "not_signed_in"


async def test_authorize_sends_a_signed_out_browser_to_the_sign_in_page(
    make_identity_settings: Any,
) -> None:
    settings: IdentitySettings = make_identity_settings(sign_in_url="http://127.0.0.1:5173/signin")
    await apply_migrations(settings)
    async with running(settings) as server:
        _, challenge = pkce()
        response = await server.http.get("/oauth/authorize", params=authorize_params(challenge))
        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == (
            "http://127.0.0.1:5173/signin"
        )
        back = parse_qs(location.query)["return_to"][0]
        assert back.startswith("/oauth/authorize?")
        assert parse_qs(urlsplit(back).query)["code_challenge"] == [challenge]


async def test_an_expired_code_is_refused(make_identity_settings: Any, sign_up: SignUp) -> None:
    settings: IdentitySettings = make_identity_settings(lifetimes=TokenLifetimes(code_seconds=0))
    await apply_migrations(settings)
    async with running(settings) as server:
        async with open_resources(settings, pool_size=1) as resources:
            await resources.accounts.register(
                email="lou@example.org", password=PASSWORD, via="admin", verified=True
            )
            resources.provider.store.register_client(
                client_id="web",
                secret=None,
                redirect_uris=[WEB_REDIRECT],
                grant_types=["authorization_code"],
                scope="openid",
            )
        verifier, challenge = pkce()
        query = redirect_query(
            await authorize(
                server,
                await session(server, "lou@example.org"),
                **authorize_params(challenge, scope="openid"),
            )
        )
        oauth_error(await exchange(server, query["code"], verifier), 400, "invalid_grant")


async def test_client_credentials_for_automation(server: Server) -> None:
    response = await server.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "files:read"},
        auth=("svc", SERVICE_SECRET),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    verifier = verifier_for(server)
    async with verifier.running():
        assert verifier.verify(body["access_token"]).owner == "svc"
    wrong = await server.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("svc", "not-the-secret"),
    )
    oauth_error(wrong, 401, "invalid_client")
    # A public client may not use it.
    public = await server.http.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "web"}
    )
    assert public.status_code in (400, 401)
    assert public.json()["error"] in {"invalid_client", "unauthorized_client"}


async def test_discovery_and_jwks(server: Server) -> None:
    config = (await server.http.get("/.well-known/openid-configuration")).json()
    assert config["issuer"] == server.url
    assert config["jwks_uri"] == f"{server.url}/.well-known/jwks.json"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "client_credentials" in config["grant_types_supported"]
    keys = (await server.http.get("/.well-known/jwks.json")).json()["keys"]
    assert keys
    assert all(k["kty"] == "RSA" and k["kid"] and "d" not in k for k in keys)


async def test_malformed_token_requests(server: Server) -> None:
    oauth_error(
        await server.http.post("/oauth/token", data={"grant_type": "password"}),
        400,
        "unsupported_grant_type",
    )
    repeated = await server.http.post(
        "/oauth/token",
        content=b"grant_type=refresh_token&grant_type=client_credentials",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    oauth_error(repeated, 400, "invalid_request")
    huge = await server.http.post("/oauth/token", data={"grant_type": "x" * 70_000})
    assert huge.status_code == 413
