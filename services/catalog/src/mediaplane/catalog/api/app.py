"""The Litestar application of the catalog's query API."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from litestar import Litestar

from mediaplane.catalog.api.problems import PROBLEMS
from mediaplane.catalog.api.routes import ROUTES
from mediaplane.catalog.app.bootstrap import open_resources
from mediaplane.catalog.app.playback import PlaybackTokens
from mediaplane.catalog.config import SERVICE, CatalogSettings
from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.accounts import BlockedAccounts
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.principal import limit_with


def _now() -> datetime:
    return datetime.now(UTC)


def playback_tokens(
    settings: CatalogSettings, clock: Callable[[], datetime] = _now
) -> PlaybackTokens:
    """The playback token signer; refuses a missing secret or the API's own JWT secret
    (a playback token must never verify as a bearer token)."""
    secret = settings.playback_secret
    if not secret:
        raise ValueError("set MEDIAPLANE_CATALOG_PLAYBACK_SECRET (signs HLS playback tokens)")
    api_secret = settings.auth.hs256_secret
    if api_secret and hmac.compare_digest(secret.encode(), api_secret.encode()):
        raise ValueError("MEDIAPLANE_CATALOG_PLAYBACK_SECRET must differ from the JWT secret")
    return PlaybackTokens(secret, timedelta(seconds=settings.playback_ttl_seconds), clock)


def create_app(settings: CatalogSettings, *, clock: Callable[[], datetime] = _now) -> Litestar:
    """The API; `clock` (UTC) decides playback token expiry (injected by tests)."""
    checks = DeferredHealthChecks()
    playback = playback_tokens(settings, clock)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources, resources.changes.running():
            # Suspended and deleted accounts, refused by servicekit's `admit`.
            blocked = BlockedAccounts(resources.queries.blocked_accounts)
            app.state.blocked_accounts = blocked
            app.state.queries = resources.queries
            app.state.media = resources.media
            app.state.changes = resources.changes
            app.state.playback = playback
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
