"""`POST /v1/dev/token`: development sign-in, mounted only in dev mode.

`GET /v1/dev` tells a client (the web UI's sign-in page) that dev sign-in is
on; without dev mode it is a 404 like the token route, so the UI learns it
from the server, never from how it was built.

The route does not exist unless `MEDIAPLANE_DEV_MODE=1` (see `create_app`),
and dev mode refuses any bind but loopback (`GatewaySettings`): with it anyone
who reaches the gateway can mint a token for any owner, which is what a
developer's local platform wants and production must never have.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.devtoken import SUBJECT_PATTERN, issue_dev_token


class DevTokenBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sub: Annotated[str, msgspec.Meta(pattern=SUBJECT_PATTERN, description="the owner id")]
    admin: bool = False


class DevTokenView(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    token_type: str
    sub: str
    admin: bool
    expires_at: int


class DevModeView(msgspec.Struct, frozen=True, kw_only=True):
    dev_tokens: bool


def dev_routes(auth: AuthSettings) -> list[HTTPRouteHandler]:
    """The routes, signing with `auth`'s HS256 secret (and its issuer/audience)."""

    @get(
        "/v1/dev",
        tags=["development"],
        summary="Whether dev sign-in is on (dev mode only)",
        security=[],
    )
    async def dev_mode() -> DevModeView:
        return DevModeView(dev_tokens=True)

    @post(
        "/v1/dev/token",
        status_code=201,
        tags=["development"],
        summary="Sign a short-lived token (dev mode only)",
        security=[],
    )
    async def issue_token(data: JSONBody[DevTokenBody]) -> DevTokenView:
        issued = issue_dev_token(auth, data.sub, admin=data.admin)
        return DevTokenView(
            token=issued.token,
            token_type="Bearer",
            sub=issued.subject,
            admin=issued.admin,
            expires_at=issued.expires_at,
        )

    return [dev_mode, issue_token]
