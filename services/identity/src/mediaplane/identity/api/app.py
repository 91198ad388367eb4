"""The Litestar application of the identity service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar

from mediaplane.identity.adapters.own_keys import OwnKeys
from mediaplane.identity.api.problems import PROBLEMS
from mediaplane.identity.api.routes import ROUTES
from mediaplane.identity.app.bootstrap import keep_keys_rotated, open_resources
from mediaplane.identity.app.provider import Provider
from mediaplane.identity.config import SERVICE, IdentitySettings
from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier
from mediaplane.servicekit.principal import limit_with
from mediaplane.servicekit.rate_limit import RateLimit


def create_app(settings: IdentitySettings) -> Litestar:
    checks = DeferredHealthChecks()
    auth = AuthSettings(
        jwks_url=f"{settings.issuer}/.well-known/jwks.json",
        issuer=settings.issuer,
        audience=settings.audience,
    )
    ring: dict[str, Provider] = {}

    def own_key_set() -> dict[str, Any]:
        provider = ring.get("provider")
        return provider.jwks() if provider else {"keys": []}

    # servicekit's bearer verifier, on this service's own keys from memory.
    own_keys = OwnKeys(str(auth.jwks_url), own_key_set, cache_seconds=auth.jwks_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.accounts = resources.accounts
            app.state.federation = resources.federation
            app.state.mail_admin = resources.mail_admin
            limit_with(app, resources.pool)
            app.state.provider = ring["provider"] = resources.provider
            await own_keys.refresh()
            checks.target = resources.health
            rotation = asyncio.create_task(keep_keys_rotated(resources), name="key-rotation")
            try:
                yield
            finally:
                checks.target = None
                rotation.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await rotation

    app = public_api(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        checks=checks,
        auth=auth,
        rate_limit=RateLimit(),
        problems=PROBLEMS,
    )
    app.state.verifier = TokenVerifier(auth, keys=own_keys)
    return app
