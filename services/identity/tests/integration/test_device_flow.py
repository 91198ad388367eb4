"""RFC 8628 device authorization, as the CLI drives it: ask, poll, the user approves
signed in, then tokens; pending, slow down, denied, expired and used codes are refused."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import psycopg
import pytest

from mediaplane.identity.testing import Server, SignUp, session
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def start(server: Server) -> dict[str, Any]:
    response = await server.http.post(
        "/oauth/device", data={"client_id": "cli", "scope": "openid offline_access files:read"}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def poll(server: Server, device_code: str) -> httpx.Response:
    return await server.http.post(
        "/oauth/token",
        data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": "cli"},
    )


def forget_last_poll(server: Server, user_code: str) -> None:
    """Stands in for waiting the poll interval (5 s) between polls."""
    with psycopg.connect(server.settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE device_codes SET last_polled_at = NULL WHERE user_code = %s", (user_code,)
        )


async def test_the_device_flow_gives_the_cli_tokens_once_the_user_approves(
    server: Server, sign_up: SignUp
) -> None:
    user_id = await sign_up("dev@example.org")
    started = await start(server)
    assert started["verification_uri"] == f"{server.url}/device"
    assert started["interval"] == 5
    assert started["expires_in"] == 600

    pending = await poll(server, started["device_code"])
    assert pending.json()["error"] == "authorization_pending"
    too_soon = await poll(server, started["device_code"])
    assert too_soon.json()["error"] == "slow_down"

    approved = await server.http.post(
        "/v1/account/device",
        json={"user_code": started["user_code"], "approve": True},
        headers=await session(server, "dev@example.org"),
    )
    assert approved.status_code == 204, approved.text
    forget_last_poll(server, started["user_code"])
    tokens = await poll(server, started["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert "refresh_token" in tokens.json()
    verifier = TokenVerifier(
        AuthSettings(
            jwks_url=f"{server.url}/.well-known/jwks.json", issuer=server.url, audience="mediaplane"
        )
    )
    async with verifier.running():
        assert verifier.verify(tokens.json()["access_token"]).owner == user_id
    # The device code is spent.
    again = await poll(server, started["device_code"])
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_request"


async def test_a_denied_device_gets_access_denied(server: Server, sign_up: SignUp) -> None:
    await sign_up("den@example.org")
    started = await start(server)
    denied = await server.http.post(
        "/v1/account/device",
        json={"user_code": started["user_code"], "approve": False},
        headers=await session(server, "den@example.org"),
    )
    assert denied.status_code == 204
    response = await poll(server, started["device_code"])
    assert response.json()["error"] == "access_denied"


async def test_an_expired_device_code_is_refused(server: Server, sign_up: SignUp) -> None:
    await sign_up("exp@example.org")
    started = await start(server)
    with psycopg.connect(server.settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE user_code = %s",
            (started["user_code"],),
        )
    assert (await poll(server, started["device_code"])).json()["error"] == "expired_token"
    late = await server.http.post(
        "/v1/account/device",
        json={"user_code": started["user_code"], "approve": True},
        headers=await session(server, "exp@example.org"),
    )
    assert (late.status_code, late.json()["code"]) == (404, "device_code_invalid")


async def test_approving_needs_a_session_and_a_real_code(server: Server, sign_up: SignUp) -> None:
    await sign_up("apr@example.org")
    started = await start(server)
    anonymous = await server.http.post(
        "/v1/account/device", json={"user_code": started["user_code"], "approve": True}
    )
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_signed_in")
    made_up = await server.http.post(
        "/v1/account/device",
        json={"user_code": "BCDF-GHJK", "approve": True},
        headers=await session(server, "apr@example.org"),
    )
    assert (made_up.status_code, made_up.json()["code"]) == (404, "device_code_invalid")
    wrong_client = await server.http.post(
        "/oauth/device", data={"client_id": "web", "scope": "openid"}
    )
    assert wrong_client.status_code == 400
    assert wrong_client.json()["error"] == "unauthorized_client"


async def test_the_approval_page_reads_a_pending_code_until_it_is_decided(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("look@example.org")
    cookie = await session(server, "look@example.org")
    started = await start(server)
    user_code = started["user_code"]
    assert started["verification_uri_complete"] == f"{server.url}/device?user_code={user_code}"
    anonymous = await server.http.get(f"/v1/account/device/{user_code}")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_signed_in")

    # Typed by a person: lower case is the same code.
    found = await server.http.get(f"/v1/account/device/{user_code.lower()}", headers=cookie)
    assert found.status_code == 200, found.text
    pending = found.json()
    assert pending["user_code"] == user_code
    assert pending["client_id"] == "cli"
    assert pending["scopes"] == ["openid", "offline_access", "files:read"]

    for unknown in ("BCDF-GHJK", "X" * 40):
        made_up = await server.http.get(f"/v1/account/device/{unknown}", headers=cookie)
        assert (made_up.status_code, made_up.json()["code"]) == (404, "device_code_invalid")
    decided = await server.http.post(
        "/v1/account/device", json={"user_code": user_code, "approve": False}, headers=cookie
    )
    assert decided.status_code == 204
    gone = await server.http.get(f"/v1/account/device/{user_code}", headers=cookie)
    assert (gone.status_code, gone.json()["code"]) == (404, "device_code_invalid")


async def test_with_a_web_ui_the_verification_uri_is_its_device_page(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = server.app.state.provider
    monkeypatch.setattr(
        provider, "settings", dataclasses.replace(provider.settings, web_url="https://ui.test")
    )
    started = await start(server)
    assert started["verification_uri"] == "https://ui.test/device"
    assert started["verification_uri_complete"] == (
        f"https://ui.test/device?user_code={started['user_code']}"
    )
