"""Test support: the identity service on a real uvicorn port, and its Maildir read back.

For this service's tests and for other suites that need a real identity provider
(e.g. a resource server verifying its tokens over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import mailbox
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from mediaplane.identity.api.app import create_app
from mediaplane.identity.config import IdentitySettings
from mediaplane.observability.serve import serve

PASSWORD = "correct horse battery staple"


@dataclass
class Server:
    settings: IdentitySettings
    url: str
    http: httpx.AsyncClient

    def mails(self, to: str) -> list[str]:
        """Bodies of the mails sent to `to`, oldest first."""
        box = mailbox.Maildir(self.settings.maildir, create=False)
        found = [(m.get("Date") or "", key, m) for key, m in box.items() if m["To"] == to]
        bodies = []
        for _, _, message in sorted(found, key=lambda t: t[1]):
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            bodies.append(payload.decode())
        return bodies

    def token_from_mail(self, to: str, kind: str) -> str:
        """The newest `verify-token:` or `reset-token:` sent to `to`."""
        for body in reversed(self.mails(to)):
            match = re.search(rf"{kind}-token: (\S+)", body)
            if match:
                return match.group(1)
        raise AssertionError(f"no {kind} mail to {to}")


def make_settings(
    pg_url: str, bus: Any, maildir: Path, port: int, **overrides: Any
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
    task = asyncio.create_task(
        serve(create_app(settings), host="127.0.0.1", port=settings.http_port)
    )
    try:
        async with httpx.AsyncClient(base_url=settings.issuer, timeout=30) as http:
            for _ in range(400):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/health/live")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            yield Server(settings=settings, url=settings.issuer, http=http)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


SignUp = Callable[..., Awaitable[str]]
