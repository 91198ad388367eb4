"""OpenID Connect RP-Initiated Logout: the browser session ends; the redirect happens only
to a registered post-logout URI and only with an ID token this provider signed."""

from __future__ import annotations

import pytest

from mediaplane.identity.testing import SIGNED_OUT, Server, SignUp, session, tokens_for

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]


async def test_logout_with_an_id_token_hint_ends_the_session_and_redirects(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("out@example.org")
    cookie = await session(server, "out@example.org")
    tokens = await tokens_for(server, cookie)
    response = await server.http.get(
        "/oauth/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": SIGNED_OUT,
            "state": "bye",
        },
        headers=cookie,
    )
    assert response.status_code == 302, response.text
    assert response.headers["location"] == f"{SIGNED_OUT}?state=bye"
    assert "mp_session=" in response.headers["set-cookie"]
    gone = await server.http.get("/v1/account/", headers=cookie)
    assert (gone.status_code, gone.json()["code"]) == (401, "not_signed_in")


async def test_an_unregistered_post_logout_uri_gets_no_redirect(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("unr@example.org")
    cookie = await session(server, "unr@example.org")
    tokens = await tokens_for(server, cookie)
    response = await server.http.get(
        "/oauth/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
        headers=cookie,
    )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.json() == {"status": "signed_out"}


async def test_a_get_without_a_hint_or_with_a_forged_one_signs_nobody_out(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("hin@example.org")
    cookie = await session(server, "hin@example.org")
    bare = await server.http.get("/oauth/logout", headers=cookie)
    assert (bare.status_code, bare.json()["error"]) == (400, "invalid_request")
    forged = await server.http.get(
        "/oauth/logout",
        params={"id_token_hint": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl"},
        headers=cookie,
    )
    assert (forged.status_code, forged.json()["error"]) == (400, "invalid_request")
    assert (await server.http.get("/v1/account/", headers=cookie)).status_code == 200
    # The client's own confirmation (a POST) signs out without a hint.
    confirmed = await server.http.post("/oauth/logout", headers=cookie)
    assert confirmed.status_code == 200
    assert (await server.http.get("/v1/account/", headers=cookie)).status_code == 401
