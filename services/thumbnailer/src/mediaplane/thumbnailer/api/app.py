"""The Litestar application of the variants API (the thumbnailer's `api` role)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from litestar import Litestar

from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.accounts import BlockedAccounts
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.principal import limit_with
from mediaplane.thumbnailer.adapters import accounts
from mediaplane.thumbnailer.api.problems import PROBLEMS
from mediaplane.thumbnailer.api.routes import ROUTES
from mediaplane.thumbnailer.app.bootstrap import open_resources
from mediaplane.thumbnailer.config import SERVICE, ThumbnailerSettings
from mediaplane.thumbnailer.domain.variant_spec import SpecPolicy, SpecSigner


def spec_policy(settings: ThumbnailerSettings) -> SpecPolicy:
    """Presets, and signed specs when a secret is set; the secret must not be the JWT's."""
    variants = settings.variants
    secret = variants.secret
    api_secret = settings.auth.hs256_secret if settings.auth else None
    if secret and api_secret and hmac.compare_digest(secret.encode(), api_secret.encode()):
        raise ValueError("MEDIAPLANE_THUMBNAILER_VARIANT_SECRET must differ from the JWT secret")
    return SpecPolicy(
        presets=variants.presets,
        max_pixels=variants.max_pixels,
        signer=SpecSigner(secret) if secret else None,
    )


def create_app(settings: ThumbnailerSettings) -> Litestar:
    if settings.auth is None:
        raise ValueError("the variants API needs MEDIAPLANE_JWT_SECRET or MEDIAPLANE_JWKS_URL")
    checks = DeferredHealthChecks()
    policy = spec_policy(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            # Suspended and deleted accounts, refused by servicekit's `admit`.
            blocked = BlockedAccounts(partial(accounts.blocked, resources.pool))
            app.state.blocked_accounts = blocked
            app.state.variants = resources.variants
            app.state.spec_policy = policy
            limit_with(app, resources.pool)
            checks.target = resources.health
            async with blocked.running():
                yield
            checks.target = None

    return public_api(
        service=SERVICE,
        route_handlers=ROUTES,
        lifespan=lifespan,
        checks=checks,
        auth=settings.auth,
        rate_limit=settings.rate_limit,
        problems=PROBLEMS,
    )
