"""Administration over HTTP with identity-issued bearer tokens: roles, plans, suspension,
deletion (personal data erased), invites; refused for non-admins."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import jwt as pyjwt
import psycopg
import pytest

from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.app.provider import PAT_TOKEN_TYPE, TOKEN_EXCHANGE
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.testing import (
    PASSWORD,
    Server,
    SignUp,
    refresh,
    running,
    session,
    tokens_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clients")]


async def bearer(server: Server, email: str) -> dict[str, str]:
    tokens = await tokens_for(server, await session(server, email))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def make_admin(server: Server, email: str) -> dict[str, str]:
    async with open_resources(server.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email=email, password=PASSWORD, role="admin", via="admin", verified=True
        )
    return await bearer(server, email)


def types(server: Server, user_id: str) -> list[str]:
    with psycopg.connect(server.settings.database_url) as conn:
        rows = conn.execute(
            "SELECT type FROM event_log WHERE stream_id = %s ORDER BY version",
            (f"user-{user_id}",),
        ).fetchall()
    return [r[0] for r in rows]


async def test_an_admin_changes_role_and_plan_and_suspends(server: Server, sign_up: SignUp) -> None:
    admin = await make_admin(server, "admin@example.org")
    user_id = await sign_up("uma@example.org")
    base = f"/v1/admin/users/{user_id}"
    assert (
        await server.http.put(f"{base}/role", json={"role": "moderator"}, headers=admin)
    ).status_code == 204
    assert (
        await server.http.put(f"{base}/plan", json={"plan": "pro"}, headers=admin)
    ).status_code == 204
    suspended = await server.http.put(f"{base}/suspension", json={"reason": "spam"}, headers=admin)
    assert suspended.status_code == 204
    assert (await server.http.delete(f"{base}/suspension", headers=admin)).status_code == 204
    assert types(server, user_id) == [
        "user.registered.v1",
        "user.email_verified.v1",
        "user.role_changed.v1",
        "user.plan_changed.v1",
        "user.suspended.v1",
        "user.reinstated.v1",
    ]
    tokens = await tokens_for(server, await session(server, "uma@example.org"))
    claims = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert (claims["roles"], claims["plan"]) == (["moderator"], "pro")


async def test_deleting_a_user_erases_their_personal_data(server: Server, sign_up: SignUp) -> None:
    admin = await make_admin(server, "admin2@example.org")
    user_id = await sign_up("vic@example.org")
    assert (
        await server.http.delete(f"/v1/admin/users/{user_id}", headers=admin)
    ).status_code == 204
    assert types(server, user_id)[-1] == "user.deleted.v1"
    with psycopg.connect(server.settings.database_url) as conn:
        assert conn.execute(
            "SELECT count(*) FROM users WHERE user_id = %s", (user_id,)
        ).fetchone() == (0,)
    signed_in = await server.http.post(
        "/v1/account/sessions", json={"email": "vic@example.org", "password": PASSWORD}
    )
    assert signed_in.json()["code"] == "invalid_credentials"
    again = await server.http.delete(f"/v1/admin/users/{user_id}", headers=admin)
    assert (again.status_code, again.json()["code"]) == (410, "user_deleted")


async def test_refusals(server: Server, sign_up: SignUp) -> None:
    admin = await make_admin(server, "admin3@example.org")
    user_id = await sign_up("wes@example.org")
    user = await bearer(server, "wes@example.org")
    base = f"/v1/admin/users/{user_id}"
    not_admin = await server.http.put(f"{base}/role", json={"role": "admin"}, headers=user)
    assert (not_admin.status_code, not_admin.json()["code"]) == (403, "role_required")
    anonymous = await server.http.put(f"{base}/role", json={"role": "admin"})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    bad_role = await server.http.put(f"{base}/role", json={"role": "god"}, headers=admin)
    assert (bad_role.status_code, bad_role.json()["code"]) == (400, "invalid_request")
    bad_plan = await server.http.put(f"{base}/plan", json={"plan": "platinum"}, headers=admin)
    assert (bad_plan.status_code, bad_plan.json()["code"]) == (422, "unknown_plan")
    unknown = await server.http.put(
        f"/v1/admin/users/{uuid.uuid4()}/role", json={"role": "admin"}, headers=admin
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "user_not_found")


async def test_an_admin_invites(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings(registration="invite")
    await apply_migrations(settings)
    async with running(settings) as server:
        async with open_resources(settings, pool_size=1) as resources:
            resources.provider.store.register_client(
                client_id="web",
                secret=None,
                redirect_uris=["http://127.0.0.1:5173/callback"],
                grant_types=["authorization_code"],
                scope="openid",
            )
        admin = await make_admin(server, "admin4@example.org")
        made = await server.http.post("/v1/admin/invites", headers=admin)
        assert made.status_code == 201
        registered = await server.http.post(
            "/v1/account/registrations",
            json={
                "email": "xan@example.org",
                "password": PASSWORD,
                "invite": made.json()["invite"],
            },
        )
        assert registered.status_code == 202


async def test_a_suspended_user_gets_no_token_until_reinstated(
    server: Server, sign_up: SignUp
) -> None:
    """Refresh and PAT exchange are refused while suspended (issuance checks the account is
    active); sessions and refresh tokens are revoked by the suspension itself."""
    admin = await make_admin(server, "admin@example.org")
    user_id = await sign_up("sal@example.org")
    cookie = await session(server, "sal@example.org")
    tokens = await tokens_for(server, cookie)
    pat = await server.http.post(
        "/v1/account/tokens",
        json={"name": "script", "scopes": ["files:read"], "expires_in_days": 1},
        headers=cookie,
    )
    assert pat.status_code == 201, pat.text
    base = f"/v1/admin/users/{user_id}/suspension"

    async def exchange() -> httpx.Response:
        return await server.http.post(
            "/oauth/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": pat.json()["token"],
                "subject_token_type": PAT_TOKEN_TYPE,
                "client_id": "cli",
            },
        )

    assert (await exchange()).status_code == 200
    assert (await server.http.put(base, json={"reason": "spam"}, headers=admin)).status_code == 204
    assert (await refresh(server, tokens["refresh_token"])).json()["error"] == "invalid_grant"
    assert (await exchange()).json()["error"] == "invalid_grant"
    assert (await server.http.delete(base, headers=admin)).status_code == 204
    # Reinstated: the PAT works again; the revoked refresh token does not come back.
    assert (await exchange()).status_code == 200
    assert (await refresh(server, tokens["refresh_token"])).json()["error"] == "invalid_grant"


async def test_an_admin_sets_and_clears_a_users_quota(server: Server, sign_up: SignUp) -> None:
    """Each change is `user.quota_set`; setting what is already set writes nothing; bad
    counts and unknown users are refused; a user or moderator may not."""
    admin = await make_admin(server, "admin5@example.org")
    user_id = await sign_up("quinn@example.org")
    base = f"/v1/admin/users/{user_id}/quota"
    assert (
        await server.http.put(base, json={"files": 3, "bytes": 1000}, headers=admin)
    ).status_code == 204
    again = await server.http.put(base, json={"files": 3, "bytes": 1000}, headers=admin)
    assert again.status_code == 204
    assert (await server.http.delete(base, headers=admin)).status_code == 204
    with psycopg.connect(server.settings.database_url) as conn:
        rows = conn.execute(
            "SELECT data->>'files', data->>'bytes' FROM event_log"
            " WHERE stream_id = %s AND type = 'user.quota_set.v1' ORDER BY version",
            (f"user-{user_id}",),
        ).fetchall()
    assert rows == [("3", "1000"), (None, None)]

    for bad in ({"files": -1}, {"bytes": 1.5}, {"bytes": "10GB"}, {"files": 1, "pages": 2}):
        refused = await server.http.put(base, json=bad, headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_request"), bad
    unknown = await server.http.put(
        f"/v1/admin/users/{uuid.uuid4()}/quota", json={"files": 1}, headers=admin
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "user_not_found")
    moderator_id = await sign_up("mona@example.org")
    promoted = await server.http.put(
        f"/v1/admin/users/{moderator_id}/role", json={"role": "moderator"}, headers=admin
    )
    assert promoted.status_code == 204
    user = await bearer(server, "quinn@example.org")
    moderator = await bearer(server, "mona@example.org")
    for caller in (user, moderator):
        for verb in ("put", "delete"):
            kwargs = {"json": {"files": 10**6}} if verb == "put" else {}
            answer = await getattr(server.http, verb)(base, headers=caller, **kwargs)
            assert (answer.status_code, answer.json()["code"]) == (403, "role_required")
