"""Accounts over real HTTP (uvicorn + httpx) against a real Postgres: the happy paths and
every refusal, each a problem+json with a stable code."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from mediaplane.identity.app.bootstrap import apply_migrations
from mediaplane.identity.config import IdentitySettings
from mediaplane.identity.domain.policy import Backoff
from mediaplane.identity.testing import PASSWORD, Server, SignUp, running

pytestmark = pytest.mark.integration


def session_cookie(response: httpx.Response) -> dict[str, str]:
    """The `Cookie` header for the session a response set (httpx keeps Secure cookies off
    plain HTTP, as browsers do off non-local HTTP, so tests send it themselves)."""
    value = response.cookies.get("mp_session")
    assert value, response.headers
    return {"Cookie": f"mp_session={value}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def event_types(settings: IdentitySettings) -> list[str]:
    with psycopg.connect(settings.database_url) as conn:
        return [r[0] for r in conn.execute("SELECT type FROM event_log ORDER BY position")]


async def sign_in(server: Server, email: str, password: str = PASSWORD) -> httpx.Response:
    return await server.http.post(
        "/v1/account/sessions", json={"email": email, "password": password}
    )


async def test_sign_up_verify_and_sign_in_with_a_secure_session_cookie(
    server: Server, sign_up: SignUp
) -> None:
    user_id = await sign_up("Alice@Example.org")
    response = await sign_in(server, "alice@example.org")
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("secure", "httponly", "samesite=lax", "path=/"):
        assert attribute in cookie
    me = await server.http.get("/v1/account/", headers=session_cookie(response))
    assert me.status_code == 200
    assert me.json() == {
        "user_id": user_id,
        "email": "alice@example.org",
        "role": "user",
        "plan": "free",
        "email_verified": True,
    }
    assert event_types(server.settings) == ["user.registered.v1", "user.email_verified.v1"]
    with psycopg.connect(server.settings.database_url) as conn:
        row = conn.execute("SELECT password_hash FROM users").fetchone()
        assert row is not None
        stored = row[0]
        logged = conn.execute("SELECT data::text FROM event_log").fetchall()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored
    assert not any("alice" in data or PASSWORD in data for (data,) in logged)  # no PII


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("bob@example.org")
    wrong = assert_problem(
        await sign_in(server, "bob@example.org", "not the password"), 401, "invalid_credentials"
    )
    unknown = assert_problem(
        await sign_in(server, "nobody@example.org"), 401, "invalid_credentials"
    )
    assert wrong["detail"] == unknown["detail"]
    assert wrong["title"] == unknown["title"]


async def test_failed_sign_ins_lock_the_account_with_backoff(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings(backoff=Backoff(free_failures=3, base_seconds=60))
    await apply_migrations(settings)
    async with running(settings) as server:
        await _register_verified(server, "carol@example.org")
        for _ in range(3):
            assert_problem(
                await sign_in(server, "carol@example.org", "wrong password!"),
                401,
                "invalid_credentials",
            )
        # Locked now: even the right password waits, and the client is told how long.
        locked = await sign_in(server, "carol@example.org")
        assert_problem(locked, 429, "sign_in_throttled")
        assert int(locked.headers["retry-after"]) >= 50
        # An unknown email locks the same way (no enumeration by lockout).
        for _ in range(3):
            await sign_in(server, "ghost@example.org", "wrong password!")
        assert_problem(await sign_in(server, "ghost@example.org"), 429, "sign_in_throttled")


async def _register_verified(server: Server, email: str) -> None:
    response = await server.http.post(
        "/v1/account/registrations", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 202
    token = await server.token_from_mail(email, "verify")
    assert (
        await server.http.post("/v1/account/email-verifications", json={"token": token})
    ).status_code == 204


async def test_registering_a_known_email_answers_like_a_new_one(
    server: Server, sign_up: SignUp
) -> None:
    await sign_up("dave@example.org")
    again = await server.http.post(
        "/v1/account/registrations", json={"email": "dave@example.org", "password": PASSWORD + "!"}
    )
    fresh = await server.http.post(
        "/v1/account/registrations", json={"email": "erin@example.org", "password": PASSWORD}
    )
    assert (again.status_code, again.json()) == (fresh.status_code, fresh.json())
    assert "Someone tried to register" in (await server.mails("dave@example.org"))[-1]
    # The old password still works: the second registration changed nothing.
    assert (await sign_in(server, "dave@example.org")).status_code == 201


async def test_an_unverified_account_cannot_sign_in(server: Server) -> None:
    await server.http.post(
        "/v1/account/registrations", json={"email": "frank@example.org", "password": PASSWORD}
    )
    assert_problem(await sign_in(server, "frank@example.org"), 403, "email_not_verified")


async def test_a_password_reset_verifies_the_email_and_replaces_the_first_password(
    server: Server,
) -> None:
    """The way in after a verification mail that was lost or never sent: the reset link
    comes by mail too, so using it proves the address; and a password someone else chose
    when registering the address unverified does not survive it."""
    await server.http.post(
        "/v1/account/registrations", json={"email": "hal@example.org", "password": PASSWORD}
    )
    assert_problem(await sign_in(server, "hal@example.org"), 403, "email_not_verified")
    await server.http.post("/v1/account/password-resets", json={"email": "hal@example.org"})
    token = await server.token_from_mail("hal@example.org", "reset")
    new = "the owner's own passphrase"
    done = await server.http.post(
        "/v1/account/password-resets/confirm", json={"token": token, "password": new}
    )
    assert done.status_code == 204, done.text
    assert_problem(await sign_in(server, "hal@example.org"), 401, "invalid_credentials")
    assert (await sign_in(server, "hal@example.org", new)).status_code == 201


async def test_a_verification_link_works_once(server: Server) -> None:
    await server.http.post(
        "/v1/account/registrations", json={"email": "gina@example.org", "password": PASSWORD}
    )
    token = await server.token_from_mail("gina@example.org", "verify")
    first = await server.http.post("/v1/account/email-verifications", json={"token": token})
    assert first.status_code == 204
    replay = await server.http.post("/v1/account/email-verifications", json={"token": token})
    assert_problem(replay, 410, "link_invalid")
    made_up = await server.http.post("/v1/account/email-verifications", json={"token": "x" * 43})
    assert_problem(made_up, 410, "link_invalid")


async def test_expired_links_are_refused(server: Server) -> None:
    await server.http.post(
        "/v1/account/registrations", json={"email": "hank@example.org", "password": PASSWORD}
    )
    token = await server.token_from_mail("hank@example.org", "verify")
    # The link's hour has passed (the service's clock moved on).
    later = datetime.now(UTC) + timedelta(seconds=server.settings.lifetimes.mail_link_seconds + 1)
    server.app.state.accounts.clock = lambda: later
    expired = await server.http.post("/v1/account/email-verifications", json={"token": token})
    assert_problem(expired, 410, "link_invalid")


async def test_sign_out_everywhere_ends_every_session(server: Server, sign_up: SignUp) -> None:
    await sign_up("ivy@example.org")
    laptop = session_cookie(await sign_in(server, "ivy@example.org"))
    phone = session_cookie(await sign_in(server, "ivy@example.org"))
    assert (await server.http.get("/v1/account/", headers=phone)).status_code == 200
    assert (await server.http.delete("/v1/account/sessions", headers=laptop)).status_code == 204
    for cookie in (laptop, phone):
        assert_problem(await server.http.get("/v1/account/", headers=cookie), 401, "not_signed_in")
    # Signing in again works.
    assert (await sign_in(server, "ivy@example.org")).status_code == 201


async def test_sign_out_ends_this_session_only(server: Server, sign_up: SignUp) -> None:
    await sign_up("jack@example.org")
    one = session_cookie(await sign_in(server, "jack@example.org"))
    two = session_cookie(await sign_in(server, "jack@example.org"))
    assert (
        await server.http.delete("/v1/account/sessions/current", headers=one)
    ).status_code == 204
    assert_problem(await server.http.get("/v1/account/", headers=one), 401, "not_signed_in")
    assert (await server.http.get("/v1/account/", headers=two)).status_code == 200


async def test_sessions_are_listed_and_ended_one_at_a_time(server: Server, sign_up: SignUp) -> None:
    await sign_up("kim@example.org")
    laptop = session_cookie(await sign_in(server, "kim@example.org"))
    phone = session_cookie(await sign_in(server, "kim@example.org"))
    listed = await server.http.get("/v1/account/sessions", headers=laptop)
    assert listed.status_code == 200, listed.text
    sessions = listed.json()
    assert len(sessions) == 3  # sign_up's own, the laptop's and the phone's
    [current] = [s for s in sessions if s["current"]]
    phone_id = next(
        s["id"]
        for s in (await server.http.get("/v1/account/sessions", headers=phone)).json()
        if s["current"]
    )
    assert phone_id != current["id"]
    # Another user cannot end it: the same 404 as an unknown id.
    await sign_up("lee@example.org")
    stranger = session_cookie(await sign_in(server, "lee@example.org"))
    for cookie, session_id in ((stranger, phone_id), (laptop, str(uuid.uuid4()))):
        assert_problem(
            await server.http.delete(f"/v1/account/sessions/{session_id}", headers=cookie),
            404,
            "session_not_found",
        )
    ended = await server.http.delete(f"/v1/account/sessions/{phone_id}", headers=laptop)
    assert ended.status_code == 204
    assert_problem(await server.http.get("/v1/account/", headers=phone), 401, "not_signed_in")
    assert (await server.http.get("/v1/account/", headers=laptop)).status_code == 200
    remaining = (await server.http.get("/v1/account/sessions", headers=laptop)).json()
    assert phone_id not in {s["id"] for s in remaining}
    assert_problem(await server.http.get("/v1/account/sessions"), 401, "not_signed_in")
    malformed = await server.http.delete("/v1/account/sessions/not-a-uuid", headers=laptop)
    assert malformed.status_code in (400, 404)


async def test_mails_link_to_the_web_ui_when_it_is_configured(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings(registration="open", web_url="http://127.0.0.1:8080")
    await apply_migrations(settings)
    async with running(settings) as started:
        await started.http.post(
            "/v1/account/registrations", json={"email": "web@example.org", "password": PASSWORD}
        )
        token = await started.token_from_mail("web@example.org", "verify")
        [mail] = await started.mails("web@example.org")
        assert f"http://127.0.0.1:8080/#/verify-email?token={token}" in mail
        await started.http.post("/v1/account/password-resets", json={"email": "web@example.org"})
        reset = await started.token_from_mail("web@example.org", "reset")
        assert (
            f"http://127.0.0.1:8080/#/reset-password?token={reset}"
            in (await started.mails("web@example.org"))[-1]
        )


async def test_password_reset_by_mail_signs_out_everywhere(server: Server, sign_up: SignUp) -> None:
    await sign_up("kim@example.org")
    before = session_cookie(await sign_in(server, "kim@example.org"))
    known = await server.http.post("/v1/account/password-resets", json={"email": "kim@example.org"})
    unknown = await server.http.post(
        "/v1/account/password-resets", json={"email": "nobody@example.org"}
    )
    assert (
        (known.status_code, known.json())
        == (unknown.status_code, unknown.json())
        == (
            202,
            {"status": "check_your_email"},
        )
    )
    token = await server.token_from_mail("kim@example.org", "reset")
    new = "an entirely new passphrase"
    weak = await server.http.post(
        "/v1/account/password-resets/confirm", json={"token": token, "password": "short"}
    )
    assert_problem(weak, 422, "weak_password")
    done = await server.http.post(
        "/v1/account/password-resets/confirm", json={"token": token, "password": new}
    )
    assert done.status_code == 204, done.text
    assert_problem(await server.http.get("/v1/account/", headers=before), 401, "not_signed_in")
    assert_problem(await sign_in(server, "kim@example.org"), 401, "invalid_credentials")
    assert (await sign_in(server, "kim@example.org", new)).status_code == 201
    replay = await server.http.post(
        "/v1/account/password-resets/confirm", json={"token": token, "password": new + "!"}
    )
    assert_problem(replay, 410, "link_invalid")


@pytest.mark.parametrize(
    ("mode", "code"), [("closed", "registration_closed"), ("invite", "registration_closed")]
)
async def test_registration_refused_when_closed_or_without_invite(
    make_identity_settings: Callable[..., IdentitySettings], mode: str, code: str
) -> None:
    settings = make_identity_settings(registration=mode)
    await apply_migrations(settings)
    async with running(settings) as server:
        refused = await server.http.post(
            "/v1/account/registrations", json={"email": "leo@example.org", "password": PASSWORD}
        )
        assert_problem(refused, 403, code)
        assert await server.mails("leo@example.org") == []


async def test_invite_only_registration_takes_each_invite_once(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings(registration="invite")
    await apply_migrations(settings)
    async with running(settings) as server:
        from mediaplane.identity.app.bootstrap import open_resources

        async with open_resources(settings, pool_size=1) as resources:
            invite = await resources.accounts.create_invite(created_by="test")
        body = {"email": "mia@example.org", "password": PASSWORD, "invite": invite}
        assert (await server.http.post("/v1/account/registrations", json=body)).status_code == 202
        again = await server.http.post(
            "/v1/account/registrations", json={**body, "email": "ned@example.org"}
        )
        assert_problem(again, 403, "invite_invalid")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, 422, "invalid_email"),
        ({"email": "olga@example.org", "password": "short"}, 422, "weak_password"),
        ({"email": "olga@example.org", "password": "aaaaaaaaaaaaaaaa"}, 422, "weak_password"),
        ({"email": "olga@example.org"}, 400, "invalid_request"),
        (
            {"email": "olga@example.org", "password": PASSWORD, "admin": True},
            400,
            "invalid_request",
        ),
    ],
)
async def test_bad_registrations(
    server: Server, body: dict[str, Any], status: int, code: str
) -> None:
    assert_problem(await server.http.post("/v1/account/registrations", json=body), status, code)


async def test_malformed_and_oversized_bodies(server: Server) -> None:
    malformed = await server.http.post(
        "/v1/account/sessions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(malformed, 400, "invalid_request")
    huge = await server.http.post(
        "/v1/account/sessions",
        json={"email": "a@example.org", "password": "x" * (64 * 1024)},
    )
    assert_problem(huge, 413, "payload_too_large")


async def test_a_suspended_user_is_signed_out_and_cannot_sign_in(
    server: Server, sign_up: SignUp
) -> None:
    user_id = await sign_up("pat@example.org")
    cookie = session_cookie(await sign_in(server, "pat@example.org"))
    from mediaplane.identity.app.bootstrap import open_resources

    async with open_resources(server.settings, pool_size=1) as resources:
        await resources.accounts.suspend(uuid.UUID(user_id), reason="spam", by="test")
    assert_problem(await server.http.get("/v1/account/", headers=cookie), 401, "not_signed_in")
    assert_problem(await sign_in(server, "pat@example.org"), 403, "account_suspended")
    async with open_resources(server.settings, pool_size=1) as resources:
        await resources.accounts.reinstate(uuid.UUID(user_id), by="test")
    assert (await sign_in(server, "pat@example.org")).status_code == 201
    assert event_types(server.settings)[-2:] == ["user.suspended.v1", "user.reinstated.v1"]


async def test_admin_commands_make_a_verified_admin_and_a_client(
    make_identity_settings: Callable[..., IdentitySettings],
) -> None:
    settings = make_identity_settings()
    env = {
        **os.environ,
        "MEDIAPLANE_IDENTITY_DATABASE_URL": settings.database_url,
        "MEDIAPLANE_IDENTITY_ISSUER": settings.issuer,
        "MEDIAPLANE_IDENTITY_MAILDIR": str(settings.maildir),
        "MEDIAPLANE_ADMIN_PASSWORD": PASSWORD,
        "MEDIAPLANE_NATS_URL": settings.bus.url,
    }
    command = [
        sys.executable,
        "-m",
        "mediaplane.identity",
        "admin",
        "create",
        "--email",
        "root@example.org",
    ]
    created = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, check=False
    )
    assert created.returncode == 0, created.stderr
    assert "admin root@example.org created" in created.stdout
    assert PASSWORD not in created.stdout + created.stderr
    again = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, check=False
    )
    assert again.returncode == 1
    assert "already has an account" in again.stderr
    client = [sys.executable, "-m", "mediaplane.identity", "admin", "client", "--id", "robot"]
    client += ["--grant", "client_credentials", "--scope", "files:read"]
    registered = await asyncio.to_thread(
        subprocess.run, client, env=env, capture_output=True, text=True, check=False
    )
    assert registered.returncode == 0, registered.stderr
    secret = registered.stdout.strip().rsplit(" ", 1)[-1]
    async with running(settings) as server:
        me = await server.http.get(
            "/v1/account/", headers=session_cookie(await sign_in(server, "root@example.org"))
        )
        assert me.json()["role"] == "admin"
        assert me.json()["email_verified"] is True
        token = await server.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("robot", secret)
        )
        assert token.status_code == 200, token.text


async def test_mail_sending_requests_are_limited_per_address(server: Server) -> None:
    """Ten registrations or reset requests from one address, then a wait: nobody can
    mail-bomb an inbox through the service."""
    for n in range(10):
        response = await server.http.post(
            "/v1/account/password-resets", json={"email": f"victim{n}@example.org"}
        )
        assert response.status_code == 202
    limited = await server.http.post(
        "/v1/account/registrations", json={"email": "victim@example.org", "password": PASSWORD}
    )
    assert_problem(limited, 429, "too_many_requests")
    assert int(limited.headers["retry-after"]) >= 30
    assert await server.mails("victim@example.org") == []
