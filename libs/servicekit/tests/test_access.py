"""Roles, scopes and account status: the pure checks, the claims they read, a route's refusals."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.testing import AsyncTestClient

from mediaplane.eventlog.database import open_pool
from mediaplane.eventlog.migrator import migrate
from mediaplane.servicekit.access import (
    AccountDeleted,
    AccountSuspended,
    RoleRequired,
    ScopeInsufficient,
    has_role,
    refuse_blocked,
    require_role,
    require_scope,
)
from mediaplane.servicekit.accounts import BlockedAccounts
from mediaplane.servicekit.auth import API_SCOPES, AuthSettings, Principal, TokenVerifier, scopes_of
from mediaplane.servicekit.principal import attach_auth, limit_with, provide_principal
from mediaplane.servicekit.problems import EXCEPTION_HANDLERS
from mediaplane.servicekit.rate_limit import RATE_LIMIT_MIGRATIONS, RateLimit

SECRET = "unit-test-secret-that-is-long-enough"


def _token(**claims: Any) -> str:
    return jwt.encode(
        {"sub": "alice", "exp": int(time.time()) + 86400, **claims}, SECRET, algorithm="HS256"
    )


def _principal(*roles: str, scopes: frozenset[str] = API_SCOPES) -> Principal:
    return Principal(owner="alice", roles=frozenset({"user", *roles}), scopes=scopes)


@pytest.mark.parametrize(
    ("held", "needed", "allowed"),
    [
        ((), "user", True),
        ((), "moderator", False),
        ((), "admin", False),
        (("moderator",), "moderator", True),
        (("moderator",), "admin", False),
        (("admin",), "moderator", True),
        (("admin",), "admin", True),
    ],
)
def test_roles_are_ranked(held: tuple[str, ...], needed: str, allowed: bool) -> None:
    principal = _principal(*held)
    assert has_role(principal, needed) is allowed
    if allowed:
        require_role(principal, needed)
    else:
        with pytest.raises(RoleRequired, match=needed):
            require_role(principal, needed)


def test_scopes_are_not_ranked() -> None:
    writer = _principal(scopes=frozenset({"files:write"}))
    require_scope(writer, "files:write")
    with pytest.raises(ScopeInsufficient, match="files:read"):
        require_scope(writer, "files:read")
    # An admin's token is limited by its scopes like anyone's.
    with pytest.raises(ScopeInsufficient):
        require_scope(_principal("admin", scopes=frozenset()), "uploads:write")


def test_unknown_roles_and_scopes_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        has_role(_principal(), "owner")
    with pytest.raises(ValueError, match="unknown scope"):
        require_scope(_principal(), "files:everything")


def test_blocked_statuses_are_refused_with_their_code() -> None:
    refuse_blocked(None)
    refuse_blocked("active")
    with pytest.raises(AccountSuspended):
        refuse_blocked("suspended")
    with pytest.raises(AccountDeleted):
        refuse_blocked("deleted")


def test_claims_become_roles_plan_scopes_and_client() -> None:
    verifier = TokenVerifier(AuthSettings(hs256_secret=SECRET))
    principal = verifier.verify(
        _token(
            roles=["moderator", "superuser"], plan="pro", scope="openid files:read", client_id="cli"
        )
    )
    assert principal.roles == {"user", "moderator"}  # unknown roles are dropped
    assert principal.plan == "pro"
    assert principal.scopes == {"files:read"}  # only API scopes
    assert principal.client_id == "cli"
    assert not principal.admin
    assert verifier.verify(_token(role="admin")).admin
    assert verifier.verify(_token(scp=["uploads:write", 3])).scopes == {"uploads:write"}


def test_an_unscoped_token_holds_every_scope_only_with_the_dev_secret() -> None:
    dev = TokenVerifier(AuthSettings(hs256_secret=SECRET)).verify(_token())
    assert dev.scopes == API_SCOPES
    assert dev.roles == {"user"}
    assert dev.plan is None
    assert dev.client_id is None
    # The same claims from an identity provider (JWKS) hold no scope: closed by default.
    assert scopes_of({"sub": "alice"}, dev=False) == frozenset()
    assert scopes_of({"sub": "alice", "scope": "files:read x"}, dev=False) == {"files:read"}
    assert scopes_of({"sub": "alice", "scope": ""}, dev=True) == frozenset()


async def test_blocked_accounts_reload_from_their_projection() -> None:
    statuses: dict[str, str] = {"bob": "suspended"}

    async def load() -> dict[str, str]:
        return dict(statuses)

    accounts = BlockedAccounts(load, poll_seconds=0.01)
    async with accounts.running():
        with pytest.raises(AccountSuspended):
            accounts.check("bob")
        accounts.check("alice")
        assert accounts.blocked("bob")
        assert not accounts.blocked("alice")
        statuses["alice"] = "deleted"
        del statuses["bob"]
        await accounts.refresh()
    with pytest.raises(AccountDeleted):
        accounts.check("alice")
    accounts.check("bob")


@get("/files", opt={"scope": "files:read"}, sync_to_thread=False)
def files(principal: NamedDependency[Principal]) -> str:
    return principal.owner


@get("/admin", opt={"role": "admin", "scope": "files:read"}, sync_to_thread=False)
def admin_only(principal: NamedDependency[Principal]) -> str:
    return principal.owner


@pytest.mark.integration  # a database of its own
async def test_routes_refuse_with_problem_codes(pg_url: str) -> None:
    app = Litestar(
        [files, admin_only],
        dependencies={"principal": Provide(provide_principal)},
        exception_handlers=EXCEPTION_HANDLERS,
        logging_config=None,
    )
    attach_auth(app, AuthSettings(hs256_secret=SECRET), RateLimit())
    await migrate(pg_url, [RATE_LIMIT_MIGRATIONS])
    pool = await open_pool(pg_url)
    limit_with(app, pool)

    async def blocked() -> dict[str, str]:
        return {"mallory": "suspended", "gone": "deleted"}

    app.state.blocked_accounts = BlockedAccounts(blocked)
    await app.state.blocked_accounts.refresh()

    def auth(**claims: Any) -> dict[str, str]:
        return {"authorization": f"Bearer {_token(**claims)}"}

    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/files", headers=auth())).text == "alice"
        assert (await client.get("/admin", headers=auth(roles=["admin"]))).status_code == 200
        answers = {
            "scope_insufficient": await client.get("/files", headers=auth(scope="uploads:write")),
            "role_required": await client.get("/admin", headers=auth(roles=["moderator"])),
            "account_suspended": await client.get("/files", headers=auth(sub="mallory")),
            "account_deleted": await client.get("/files", headers=auth(sub="gone")),
        }
    await pool.close()
    for code, answer in answers.items():
        assert answer.status_code == 403, code
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == code
