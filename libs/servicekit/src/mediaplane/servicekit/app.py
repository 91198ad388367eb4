"""The Litestar application of a public HTTP service, set up the same way for each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from mediaplane.observability.health import HealthChecks
from mediaplane.observability.http import (
    PrometheusController,
    RequestContextMiddleware,
    health_handlers,
    prometheus_config,
    tracing_plugins,
)
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier
from mediaplane.servicekit.errors import Problem
from mediaplane.servicekit.principal import attach_auth
from mediaplane.servicekit.problems import exception_handlers
from mediaplane.servicekit.rate_limit import RateLimit


def public_api(
    *,
    service: str,
    route_handlers: Sequence[ControllerRouterHandler],
    lifespan: Callable[[Litestar], AbstractAsyncContextManager[None]],
    checks: HealthChecks,
    auth: AuthSettings,
    rate_limit: RateLimit,
    problems: Mapping[str, Problem] | None = None,
) -> Litestar:
    """`route_handlers` plus /health, /metrics and OpenAPI (bearer JWT) at /schema; request
    ids, Prometheus, OTel when tracing is on, problem+json errors, the JWT verifier and the
    per-owner rate limiter the principal dependencies use (with a JWKS, its keys are
    fetched before the first request and kept fresh in the background). `problems` maps
    the service's domain error codes to HTTP (api/problems.py)."""

    @asynccontextmanager
    async def keys_fresh(app: Litestar) -> AsyncIterator[None]:
        verifier: TokenVerifier = app.state.verifier
        async with verifier.running():
            yield

    app = Litestar(
        route_handlers=[*route_handlers, *health_handlers(checks), PrometheusController],
        lifespan=[keys_fresh, lifespan],
        middleware=[prometheus_config(service).middleware, RequestContextMiddleware()],
        plugins=tracing_plugins(),
        exception_handlers=exception_handlers(problems or {}),
        openapi_config=OpenAPIConfig(
            title=f"mediaplane {service}",
            version="1.0.0",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                }
            ),
            security=[{"bearer": []}],
        ),
        logging_config=None,
    )
    attach_auth(app, auth, rate_limit)
    return app
