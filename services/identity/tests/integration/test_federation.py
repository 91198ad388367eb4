"""Sign-in with an upstream OpenID provider, tested against a second identity instance
acting as the upstream: a new account from a verified email, linking to an existing
account by verified email or explicitly, and the refusals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest
from psycopg import sql

from mediaplane.devstack.ports import free_port_block
from mediaplane.devstack.settings import StackSettings, database_url
from mediaplane.identity.app.bootstrap import apply_migrations, open_resources
from mediaplane.identity.config import IdentitySettings, Upstream
from mediaplane.identity.testing import PASSWORD, Server, running, session

pytestmark = pytest.mark.integration

SECRET = "the-downstream-client-secret-0123456789"


@dataclass
class Pair:
    upstream: Server
    downstream: Server


@pytest.fixture
def upstream_pg_url(stack: StackSettings) -> Iterator[str]:
    name = f"mp_upstream_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(stack.pg_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield database_url(stack.pg_url, name)
    with psycopg.connect(stack.pg_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
async def pair(
    make_identity_settings: Callable[..., IdentitySettings], upstream_pg_url: str
) -> AsyncIterator[Pair]:
    up_port, down_port = free_port_block(1), free_port_block(1)
    up = make_identity_settings(database_url=upstream_pg_url, http_port=up_port)
    down = make_identity_settings(
        http_port=down_port,
        upstream=Upstream(
            issuer=f"http://127.0.0.1:{up_port}", client_id="downstream", client_secret=SECRET
        ),
    )
    for settings in (up, down):
        await apply_migrations(settings)
    async with open_resources(up, pool_size=1) as resources:
        await asyncio.to_thread(
            lambda: resources.provider.store.register_client(
                client_id="downstream",
                secret=SECRET,
                redirect_uris=[f"{down.issuer}/v1/account/federation/callback"],
                grant_types=["authorization_code"],
                scope="openid email",
            )
        )
    async with running(up) as upstream, running(down) as downstream:
        yield Pair(upstream=upstream, downstream=downstream)


async def upstream_user(pair: Pair, email: str) -> dict[str, str]:
    """A verified account on the upstream, signed in there (its session cookie)."""
    async with open_resources(pair.upstream.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email=email, password=PASSWORD, via="admin", verified=True
        )
    return await session(pair.upstream, email)


async def federate(
    pair: Pair,
    upstream_cookie: dict[str, str],
    *,
    params: dict[str, str] | None = None,
    downstream_cookie: dict[str, str] | None = None,
) -> httpx.Response:
    """The browser's trip: downstream start -> upstream authorize -> downstream callback."""
    start = await pair.downstream.http.get(
        "/v1/account/federation/start", params=params or {}, headers=downstream_cookie or {}
    )
    assert start.status_code == 302, start.text
    authorize = await pair.upstream.http.get(start.headers["location"], headers=upstream_cookie)
    assert authorize.status_code == 302, authorize.text
    callback = urlsplit(authorize.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}" == pair.downstream.url
    return await pair.downstream.http.get(
        f"{callback.path}?{callback.query}", headers=downstream_cookie or {}
    )


def cookie_of(response: httpx.Response) -> dict[str, str]:
    return {"Cookie": f"mp_session={response.cookies['mp_session']}"}


async def test_a_verified_upstream_email_makes_a_local_account_and_signs_in(pair: Pair) -> None:
    upstream_cookie = await upstream_user(pair, "fed@example.org")
    done = await federate(pair, upstream_cookie, params={"return_to": "/library"})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/library"
    me = await pair.downstream.http.get("/v1/account/", headers=cookie_of(done))
    assert me.json()["email"] == "fed@example.org"
    assert me.json()["email_verified"] is True
    # Again: the same local account (linked by the upstream subject now).
    again = await federate(pair, upstream_cookie)
    assert again.headers["location"] == "/"
    me_again = await pair.downstream.http.get("/v1/account/", headers=cookie_of(again))
    assert me_again.json()["user_id"] == me.json()["user_id"]


async def test_an_existing_account_is_linked_by_verified_email(pair: Pair) -> None:
    async with open_resources(pair.downstream.settings, pool_size=1) as resources:
        local_id = await resources.accounts.register(
            email="both@example.org", password=PASSWORD, via="admin", verified=True
        )
    done = await federate(pair, await upstream_user(pair, "both@example.org"))
    me = await pair.downstream.http.get("/v1/account/", headers=cookie_of(done))
    assert me.json()["user_id"] == str(local_id)


async def test_explicit_linking_by_a_signed_in_user(pair: Pair) -> None:
    async with open_resources(pair.downstream.settings, pool_size=1) as resources:
        local_id = await resources.accounts.register(
            email="local@example.org", password=PASSWORD, via="admin", verified=True
        )
    local = await session(pair.downstream, "local@example.org")
    upstream_cookie = await upstream_user(pair, "elsewhere@example.org")
    done = await federate(pair, upstream_cookie, params={"link": "true"}, downstream_cookie=local)
    assert done.status_code == 303
    me = await pair.downstream.http.get("/v1/account/", headers=cookie_of(done))
    assert me.json()["user_id"] == str(local_id)


async def test_a_state_works_once_and_a_made_up_one_not_at_all(pair: Pair) -> None:
    upstream_cookie = await upstream_user(pair, "rep@example.org")
    start = await pair.downstream.http.get("/v1/account/federation/start")
    authorize = await pair.upstream.http.get(start.headers["location"], headers=upstream_cookie)
    callback = urlsplit(authorize.headers["location"])
    first = await pair.downstream.http.get(f"{callback.path}?{callback.query}")
    assert first.status_code == 303
    replay = await pair.downstream.http.get(f"{callback.path}?{callback.query}")
    assert (replay.status_code, replay.json()["code"]) == (400, "federation_state_invalid")
    code = parse_qs(callback.query)["code"][0]
    made_up = await pair.downstream.http.get(
        callback.path, params={"code": code, "state": "x" * 43}
    )
    assert (made_up.status_code, made_up.json()["code"]) == (400, "federation_state_invalid")
    denied = await pair.downstream.http.get(callback.path, params={"error": "access_denied"})
    assert (denied.status_code, denied.json()["code"]) == (502, "upstream_refused")


async def test_a_code_of_another_sign_in_is_refused_by_the_upstream(pair: Pair) -> None:
    upstream_cookie = await upstream_user(pair, "mix@example.org")
    one = await pair.downstream.http.get("/v1/account/federation/start")
    two = await pair.downstream.http.get("/v1/account/federation/start")
    authorize = await pair.upstream.http.get(one.headers["location"], headers=upstream_cookie)
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    state_two = parse_qs(urlsplit(two.headers["location"]).query)["state"][0]
    # Sign-in two's state (its PKCE verifier) with sign-in one's code: PKCE fails upstream.
    mixed = await pair.downstream.http.get(
        "/v1/account/federation/callback", params={"code": code, "state": state_two}
    )
    assert (mixed.status_code, mixed.json()["code"]) == (502, "upstream_refused")


async def test_without_an_upstream_the_routes_say_so(server: Server) -> None:
    response = await server.http.get("/v1/account/federation/start")
    assert (response.status_code, response.json()["code"]) == (404, "federation_not_configured")


async def test_an_open_redirect_is_not_possible(pair: Pair) -> None:
    upstream_cookie = await upstream_user(pair, "redir@example.org")
    done = await federate(pair, upstream_cookie, params={"return_to": "https://evil.example/"})
    assert done.headers["location"] == "/"
    done = await federate(pair, upstream_cookie, params={"return_to": "//evil.example/"})
    assert done.headers["location"] == "/"


async def test_an_unverified_upstream_email_neither_links_nor_registers(pair: Pair) -> None:
    upstream_cookie = await upstream_user(pair, "unv@example.org")
    with psycopg.connect(pair.upstream.settings.database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET email_verified = false WHERE email = 'unv@example.org'")
    async with open_resources(pair.downstream.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="unv@example.org", password=PASSWORD, via="admin", verified=True
        )
    refused = await federate(pair, upstream_cookie)
    assert (refused.status_code, refused.json()["code"]) == (403, "upstream_email_unverified")
    with psycopg.connect(pair.downstream.settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM linked_identities").fetchone() == (0,)


async def test_sign_in_options_name_the_upstream(pair: Pair) -> None:
    with_upstream = await pair.downstream.http.get("/v1/account/sign-in-options")
    assert with_upstream.json() == {"registration": "open", "upstream": pair.upstream.url}


async def test_sign_in_options_without_an_upstream(server: Server) -> None:
    without = await server.http.get("/v1/account/sign-in-options")
    assert without.json() == {"registration": "open", "upstream": None}


async def test_linked_identities_are_listed_and_unlinked_by_their_owner_only(pair: Pair) -> None:
    done = await federate(pair, await upstream_user(pair, "links@example.org"))
    owner = cookie_of(done)
    listed = await pair.downstream.http.get("/v1/account/identities", headers=owner)
    assert listed.status_code == 200, listed.text
    [linked] = listed.json()
    assert linked["issuer"] == pair.upstream.url
    assert linked["subject"]
    assert linked["linked_at"]
    # Someone else cannot see or remove it.
    async with open_resources(pair.downstream.settings, pool_size=1) as resources:
        await resources.accounts.register(
            email="other@example.org", password=PASSWORD, via="admin", verified=True
        )
    other = await session(pair.downstream, "other@example.org")
    assert (await pair.downstream.http.get("/v1/account/identities", headers=other)).json() == []
    refused = await pair.downstream.http.delete(
        f"/v1/account/identities/{linked['id']}", headers=other
    )
    assert refused.status_code == 404
    assert refused.json()["code"] == "linked_identity_not_found"
    signed_out = await pair.downstream.http.get("/v1/account/identities")
    assert signed_out.json()["code"] == "not_signed_in"
    # The owner unlinks it; a second unlink is 404.
    path = f"/v1/account/identities/{linked['id']}"
    assert (await pair.downstream.http.delete(path, headers=owner)).status_code == 204
    assert (await pair.downstream.http.get("/v1/account/identities", headers=owner)).json() == []
    again = await pair.downstream.http.delete(path, headers=owner)
    assert again.status_code == 404
    assert again.json()["code"] == "linked_identity_not_found"
