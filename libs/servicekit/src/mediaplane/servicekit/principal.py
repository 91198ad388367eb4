"""Litestar wiring of authentication: who is asking, checked and rate limited per request.

The rate limit is shared by the API's replicas (a bucket per owner in its
Postgres, `rate_limit.py`), so taking a token is a query and the providers are
async. Litestar resolves several async dependencies of one handler in an anyio
task group, a task each, which cost more than the work they did: a handler
gets one async dependency that does it all (the gateway's `Caller`).
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

from mediaplane.eventlog.database import Pool
from mediaplane.servicekit.access import require_role, require_scope
from mediaplane.servicekit.accounts import BlockedAccounts
from mediaplane.servicekit.auth import AuthSettings, Principal, TokenVerifier
from mediaplane.servicekit.rate_limit import OwnerRateLimiter, RateLimit

Req = Request[Any, Any, Any]


def attach_auth(app: Litestar, auth: AuthSettings, rate_limit: RateLimit) -> None:
    """Give `app` the verifier and limiter the `provide_*` dependencies use, and an empty
    set of blocked accounts (a service's lifespan puts its own in `app.state.blocked_accounts`)."""
    app.state.verifier = TokenVerifier(auth)
    app.state.rate_limiter = OwnerRateLimiter(rate_limit)
    app.state.blocked_accounts = BlockedAccounts()


def limit_with(app: Litestar, pool: Pool) -> None:
    """Keep the rate limit's buckets in `pool`'s database (the service's own; its
    migrations include `RATE_LIMIT_MIGRATIONS`). Called in the app's lifespan."""
    limiter: OwnerRateLimiter = app.state.rate_limiter
    limiter.use(pool)


async def admit(request: Req, principal: Principal) -> Principal:
    """`principal`, unless its account is suspended or deleted, the route's role or scope
    (`opt` keys `role`, `scope`) is missing, or its owner's rate limit is spent."""
    accounts: BlockedAccounts = request.app.state.blocked_accounts
    accounts.check(principal.owner)
    opt = request.route_handler.opt
    if (role := opt.get("role")) is not None:
        require_role(principal, role)
    if (scope := opt.get("scope")) is not None:
        require_scope(principal, scope)
    limiter: OwnerRateLimiter = request.app.state.rate_limiter
    await limiter.check(principal.owner)
    return principal


async def provide_principal(request: Req) -> Principal:
    """The caller, from `Authorization: Bearer <jwt>` only: a bearer token never goes in a
    URL, where access logs, browser history and Referer headers would keep it. Routes a
    player must reach by URL take a capability of their own (the catalog's playback token)
    and `admit` its holder."""
    verifier: TokenVerifier = request.app.state.verifier
    return await admit(request, verifier.from_request(request))
