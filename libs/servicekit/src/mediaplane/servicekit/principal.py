"""Litestar wiring of authentication: who is asking, checked and rate limited per request.

The providers are plain functions (no I/O): declare them with
`Provide(..., sync_to_thread=False)`. Litestar resolves several async
dependencies of one handler in an anyio task group, a task each, which cost
more than the work they did.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

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


def admit(request: Req, principal: Principal) -> Principal:
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
    limiter.check(principal.owner)
    return principal


def provide_principal(request: Req) -> Principal:
    """The caller, from `Authorization: Bearer <jwt>` only: a bearer token never goes in a
    URL, where access logs, browser history and Referer headers would keep it. Routes a
    player must reach by URL take a capability of their own (the catalog's playback token)
    and `admit` its holder."""
    verifier: TokenVerifier = request.app.state.verifier
    return admit(request, verifier.from_request(request))
