"""The Litestar application of the identity service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from mediaplane.identity.api.account import AccountController
from mediaplane.identity.app.bootstrap import identity
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit


def create_app(settings: IdentitySettings) -> Litestar:
    checks = DeferredHealthChecks()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with identity(settings) as resources:
            app.state.accounts = resources.accounts
            checks.target = resources.health
            yield
            checks.target = None

    return public_api(
        service=SERVICE,
        route_handlers=[AccountController],
        lifespan=lifespan,
        checks=checks,
        # The bearer verifier of servicekit checks this service's own tokens.
        auth=AuthSettings(
            jwks_url=f"{settings.issuer}/.well-known/jwks.json",
            issuer=settings.issuer,
            audience=settings.audience,
        ),
        rate_limit=RateLimit(),
    )
