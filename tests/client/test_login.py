"""`mediaplane login`, `whoami` and `logout` against the real identity service: the device
flow driven through the command, a signed-in user approving the code it prints; refresh
with rotation; revocation; personal access tokens; and the refusals, each a clear error
and exit status 1."""

from __future__ import annotations

import asyncio
import io
import json
import re
import stat
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from mediaplane.client.cli import run
from mediaplane.identity.testing import Server, session, sign_up

pytestmark = pytest.mark.integration

CODE = re.compile(r"enter the code: (\S+)")


class Terminal:
    """What the command has printed so far (capsys hands each chunk out once)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.out = ""
        self.err = ""

    def read(self) -> tuple[str, str]:
        captured = self.capsys.readouterr()
        self.out += captured.out
        self.err += captured.err
        return self.out, self.err

    def take(self) -> tuple[str, str]:
        """What was printed since the last `take`."""
        out, err = self.read()
        self.out = self.err = ""
        return out, err


async def start_login(env: dict[str, str], terminal: Terminal) -> tuple[asyncio.Task[int], str]:
    """Runs `mediaplane login` in the background; the user code it printed."""
    login = asyncio.create_task(run(["login"], env))
    while not login.done():
        _, err = terminal.read()
        found = CODE.search(err)
        if found:
            return login, found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError(f"login ended without a code: {login.result()} {terminal.read()}")


async def decide(identity: Server, email: str, user_code: str, *, approve: bool) -> None:
    response = await identity.http.post(
        "/v1/account/device",
        json={"user_code": user_code, "approve": approve},
        headers=await session(identity, email),
    )
    assert response.status_code == 204, response.text


async def signed_in(identity: Server, env: dict[str, str], terminal: Terminal, email: str) -> str:
    """`mediaplane login`, approved by `email`; the new user's id."""
    user_id = await sign_up(identity, email)
    login, user_code = await start_login(env, terminal)
    await decide(identity, email, user_code, approve=True)
    assert await login == 0, terminal.read()
    return user_id


def stored(env: dict[str, str], identity: Server) -> dict[str, Any]:
    entry: dict[str, Any] = issuers(env)[identity.url]
    return entry


def credentials(env: dict[str, str]) -> Path:
    return Path(env["MEDIAPLANE_CREDENTIALS"])


def issuers(env: dict[str, str]) -> dict[str, Any]:
    """The stored sign-ins by issuer ({} when there is no file)."""
    path = credentials(env)
    if not path.exists():
        return {}
    found: dict[str, Any] = json.loads(path.read_bytes())["issuers"]
    return found


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def expire_access_token(env: dict[str, str], identity: Server) -> None:
    """As if the 5 minutes had passed: the next command must refresh."""
    path = Path(env["MEDIAPLANE_CREDENTIALS"])
    content = json.loads(path.read_bytes())
    content["issuers"][identity.url]["tokens"]["expires_at"] = int(time.time()) - 1
    path.write_text(json.dumps(content))


async def refresh(identity: Server, refresh_token: str) -> dict[str, Any]:
    response = await identity.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "cli"},
    )
    body: dict[str, Any] = response.json()
    return body


async def test_login_whoami_refresh_and_logout_through_the_command(
    identity: Server, login_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal(capsys)
    user_id = await sign_up(identity, "cli@example.org")
    login, user_code = await start_login(login_env, terminal)
    _, err = terminal.read()
    assert f"open {identity.url}/device" in err
    await decide(identity, "cli@example.org", user_code, approve=True)
    assert await login == 0
    out, err = terminal.take()
    assert f"sub    {user_id}" in out
    assert "email  cli@example.org" in out

    # Stored for this user only, and never printed.
    assert file_mode(credentials(login_env)) == 0o600
    first = stored(login_env, identity)["tokens"]
    assert first["access_token"] not in out + err
    assert first["refresh_token"] not in out + err

    assert await run(["--json", "whoami"], login_env) == 0
    who = json.loads(terminal.take()[0])
    assert who == {
        "sub": user_id,
        "email": "cli@example.org",
        "email_verified": True,
        "roles": ["user"],
        "plan": "free",
    }

    # An expired access token is refreshed on the way, and the rotated refresh token kept.
    expire_access_token(login_env, identity)
    assert await run(["whoami"], login_env) == 0
    assert f"sub    {user_id}" in terminal.take()[0]
    second = stored(login_env, identity)["tokens"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_at"] > time.time()

    # Logout revokes at the provider (RFC 7009) and forgets the tokens here.
    assert await run(["logout"], login_env) == 0
    assert "signed out" in terminal.take()[0]
    assert identity.url not in issuers(login_env)
    assert (await refresh(identity, second["refresh_token"]))["error"] == "invalid_grant"
    userinfo = await identity.http.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert userinfo.status_code == 401

    assert await run(["whoami"], login_env) == 1
    assert "error: not_signed_in" in terminal.take()[1]
    assert await run(["logout"], login_env) == 0
    assert "was not signed in" in terminal.take()[0]


async def test_a_denied_code_fails_the_login(
    identity: Server, login_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal(capsys)
    await sign_up(identity, "no@example.org")
    login, user_code = await start_login(login_env, terminal)
    await decide(identity, "no@example.org", user_code, approve=False)
    assert await login == 1
    assert "error: access_denied (400): the sign-in was denied" in terminal.take()[1]
    assert issuers(login_env) == {}


async def test_an_expired_device_code_fails_the_login(
    identity: Server, login_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal(capsys)
    login, user_code = await start_login(login_env, terminal)
    with psycopg.connect(identity.settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE user_code = %s",
            (user_code,),
        )
    assert await login == 1
    assert "error: expired_token (400): the code expired" in terminal.take()[1]


async def test_a_revoked_refresh_token_asks_to_sign_in_again(
    identity: Server, login_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = Terminal(capsys)
    await signed_in(identity, login_env, terminal, "gone@example.org")
    terminal.take()
    # Sign out everywhere, from the browser: the CLI's refresh token is revoked.
    everywhere = await identity.http.delete(
        "/v1/account/sessions", headers=await session(identity, "gone@example.org")
    )
    assert everywhere.status_code == 204
    expire_access_token(login_env, identity)

    assert await run(["whoami"], login_env) == 1
    err = terminal.take()[1]
    assert "error: invalid_grant (400): the stored sign-in was revoked or has expired" in err
    assert "mediaplane login" in err
    # The useless tokens are forgotten: the next command says so plainly.
    assert await run(["whoami"], login_env) == 1
    assert "error: not_signed_in" in terminal.take()[1]


async def test_a_personal_access_token_signs_scripts_in(
    identity: Server,
    login_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = Terminal(capsys)
    user_id = await sign_up(identity, "bot@example.org")
    created = await identity.http.post(
        "/v1/account/tokens",
        json={"name": "ci", "scopes": ["files:read"], "expires_in_days": 1},
        headers=await session(identity, "bot@example.org"),
    )
    assert created.status_code == 201, created.text
    secret = created.json()["token"]

    # Passed through the environment: exchanged (RFC 8693) for each command.
    env = {**login_env, "MEDIAPLANE_TOKEN": secret}
    assert await run(["--json", "whoami"], env) == 0
    assert json.loads(terminal.take()[0])["sub"] == user_id

    # Stored by `login --with-token` (read from stdin, never an argument).
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    assert await run(["login", "--with-token"], login_env) == 0
    assert f"sub    {user_id}" in terminal.take()[0]
    assert stored(login_env, identity)["personal_access_token"] == secret
    assert await run(["whoami"], login_env) == 0
    terminal.take()

    monkeypatch.setattr("sys.stdin", io.StringIO("mppat_not-a-real-token\n"))
    assert await run(["login", "--with-token"], login_env) == 1
    assert "error: invalid_grant (400)" in terminal.take()[1]
    bad = {**login_env, "MEDIAPLANE_TOKEN": "mppat_not-a-real-token"}
    assert await run(["whoami"], bad) == 1
    assert "error: invalid_grant (400)" in terminal.take()[1]
