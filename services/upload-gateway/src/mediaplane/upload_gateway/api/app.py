"""The Litestar application of the gateway API."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from litestar import Litestar

from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.accounts import BlockedAccounts
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.principal import limit_with
from mediaplane.upload_gateway.adapters import accounts
from mediaplane.upload_gateway.api.dev import dev_routes
from mediaplane.upload_gateway.api.problems import PROBLEMS
from mediaplane.upload_gateway.api.routes import ROUTES
from mediaplane.upload_gateway.app.bootstrap import open_resources
from mediaplane.upload_gateway.app.dead_letters import DeadLetterAdmin
from mediaplane.upload_gateway.config import SERVICE, GatewaySettings


def create_app(settings: GatewaySettings) -> Litestar:
    checks = DeferredHealthChecks()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            # Suspended and deleted accounts, refused by servicekit's `admit`.
            blocked = BlockedAccounts(partial(accounts.blocked, resources.pool))
            app.state.blocked_accounts = blocked
            app.state.service = resources.service
            limit_with(app, resources.pool)
            checks.target = resources.health
            dead_letters = (
                DeadLetterAdmin(settings.dead_letters, resources.store)
                if settings.dead_letters is not None
                else None
            )
            app.state.dead_letters = dead_letters
            # What exists now (imports, app, pool) lives as long as the process:
            # frozen, full collections no longer walk it on every request burst.
            gc.freeze()
            try:
                async with blocked.running():
                    yield
            finally:
                if dead_letters is not None:
                    await dead_letters.close()
            checks.target = None

    return public_api(
        service=SERVICE,
        route_handlers=[
            *ROUTES,
            *(dev_routes(settings.auth) if settings.dev_mode else []),
        ],
        lifespan=lifespan,
        checks=checks,
        auth=settings.auth,
        rate_limit=settings.rate_limit,
        problems=PROBLEMS,
    )
