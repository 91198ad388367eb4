"""Test support: the identity service on a real uvicorn port, its mail outbox delivered on
demand (what the relay role does in the background), and its Maildir read back.

For this service's tests and for other suites that need a real identity provider
(e.g. a resource server verifying its tokens over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from litestar import Litestar

from mediaplane.eventlog.database import open_pool
from mediaplane.identity.adapters.mail import mailer_for
from mediaplane.identity.api.app import create_app
from mediaplane.identity.app.bootstrap import open_resources
from mediaplane.identity.app.mail_sender import MailSender
from mediaplane.identity.config import IdentitySettings
from mediaplane.observability.serve import serve

PASSWORD = "correct horse battery staple"
WEB_REDIRECT = "http://127.0.0.1:5173/callback"
SIGNED_OUT = "http://127.0.0.1:5173/signed-out"
SERVICE_SECRET = "a-service-secret-that-nobody-guesses"


def _delivery_order(key: str) -> tuple[int, ...]:
    """A Maildir key's time, microseconds and counter as numbers: `<s>.M<us>P<pid>Q<n>...`.
    As text they sort wrongly (the microseconds are not zero-padded)."""
    match = re.match(r"(\d+)\.M(\d+)P\d+Q(\d+)", key)
    assert match, f"not a key mailbox.Maildir writes: {key}"
    return tuple(int(part) for part in match.groups())


@dataclass
class Server:
    settings: IdentitySettings
    url: str
    http: httpx.AsyncClient
    app: Litestar  # its state holds the running provider (tests move its clock)
    # The relay role's mail sender, run by the test: `deliver()` sends what is due.
    mail_sender: MailSender

    async def deliver(self) -> int:
        """Sends the mails due now (as the relay role would within a second)."""
        return await self.mail_sender.send_due()

    async def mails(self, to: str) -> list[str]:
        """Bodies of the mails sent to `to`, oldest first (the due ones delivered first)."""
        assert self.settings.maildir is not None, "this server sends mail over SMTP"
        await self.deliver()
        box = mailbox.Maildir(self.settings.maildir, create=False)
        found = [(_delivery_order(key), m) for key, m in box.items() if m["To"] == to]
        bodies = []
        for _, message in sorted(found, key=lambda t: t[0]):
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            bodies.append(payload.decode())
        return bodies

    async def token_from_mail(self, to: str, kind: str) -> str:
        """The newest `verify-token:` or `reset-token:` sent to `to`."""
        bodies = await self.mails(to)
        for body in reversed(bodies):
            match = re.search(rf"{kind}-token: (\S+)", body)
            if match:
                return match.group(1)
        raise AssertionError(f"no {kind} mail to {to}: {bodies}")


def make_settings(
    pg_url: str, bus: Any, maildir: Path | None, port: int, **overrides: Any
) -> IdentitySettings:
    fields: dict[str, Any] = {
        "database_url": pg_url,
        "bus": bus,
        "issuer": f"http://127.0.0.1:{port}",
        "registration": "open",
        "maildir": maildir,
        "http_port": port,
    }
    fields.update(overrides)
    return IdentitySettings(**fields)


@contextlib.asynccontextmanager
async def running(settings: IdentitySettings) -> AsyncIterator[Server]:
    app = create_app(settings)
    task = asyncio.create_task(serve(app, host="127.0.0.1", port=settings.http_port))
    try:
        async with (
            httpx.AsyncClient(base_url=settings.issuer, timeout=30) as http,
            await open_pool(settings.database_url, min_size=1, max_size=1) as pool,
        ):
            for _ in range(400):
                if task.done():
                    task.result()  # it could not start: its ServeError says why
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/health/live")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            sender = MailSender(
                pool=pool,
                mailer=mailer_for(settings.smtp, settings.maildir),
                retry=settings.mail_retry,
            )
            yield Server(
                settings=settings, url=settings.issuer, http=http, app=app, mail_sender=sender
            )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


SignUp = Callable[..., Awaitable[str]]


async def sign_up(server: Server, email: str, password: str = PASSWORD) -> str:
    """Registers, verifies from the mail, signs in once; the user id."""
    response = await server.http.post(
        "/v1/account/registrations", json={"email": email, "password": password}
    )
    assert response.status_code == 202, response.text
    token = await server.token_from_mail(email.lower(), "verify")
    verified = await server.http.post("/v1/account/email-verifications", json={"token": token})
    assert verified.status_code == 204, verified.text
    signed_in = await server.http.post(
        "/v1/account/sessions", json={"email": email, "password": password}
    )
    assert signed_in.status_code == 201, signed_in.text
    user_id: str = signed_in.json()["user_id"]
    return user_id


async def register_clients(settings: IdentitySettings) -> None:
    """`web` (public: code + PKCE, refresh), `cli` (public: device flow, PAT exchange,
    refresh; registered as the README says) and `svc` (confidential: client credentials)."""
    async with open_resources(settings, pool_size=1) as resources:
        store = resources.provider.store
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="web",
                secret=None,
                redirect_uris=[WEB_REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                scope="openid email offline_access files:read uploads:write",
                post_logout_redirect_uris=[SIGNED_OUT],
            )
        )
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="cli",
                secret=None,
                redirect_uris=[],
                grant_types=[
                    "urn:ietf:params:oauth:grant-type:device_code",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                    "refresh_token",
                ],
                scope="openid email offline_access files:read files:write uploads:write",
            )
        )
        await asyncio.to_thread(
            lambda: store.register_client(
                client_id="svc",
                secret=SERVICE_SECRET,
                redirect_uris=[],
                grant_types=["client_credentials"],
                scope="files:read",
            )
        )


# -- the code flow, as a client drives it ------------------------------------------------------


async def session(server: Server, email: str) -> dict[str, str]:
    signed_in = await server.http.post(
        "/v1/account/sessions", json={"email": email, "password": PASSWORD}
    )
    assert signed_in.status_code == 201, signed_in.text
    return {"Cookie": f"mp_session={signed_in.cookies['mp_session']}"}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


def authorize_params(challenge: str, **overrides: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": WEB_REDIRECT,
        "scope": "openid email offline_access files:read",
        "state": "st-123",
        "nonce": secrets.token_hex(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }


async def authorize(server: Server, cookie: dict[str, str], **params: str) -> httpx.Response:
    return await server.http.get("/oauth/authorize", params=params, headers=cookie)


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(WEB_REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def code_for(server: Server, cookie: dict[str, str]) -> tuple[str, str]:
    verifier, challenge = pkce()
    query = redirect_query(await authorize(server, cookie, **authorize_params(challenge)))
    assert query["state"] == "st-123"
    return query["code"], verifier


async def exchange(server: Server, code: str, verifier: str, **extra: str) -> httpx.Response:
    return await server.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": WEB_REDIRECT,
            "client_id": "web",
            "code_verifier": verifier,
            **extra,
        },
    )


async def tokens_for(server: Server, cookie: dict[str, str]) -> dict[str, Any]:
    code, verifier = await code_for(server, cookie)
    response = await exchange(server, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(server: Server, token: str) -> httpx.Response:
    return await server.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token, "client_id": "web"},
    )
