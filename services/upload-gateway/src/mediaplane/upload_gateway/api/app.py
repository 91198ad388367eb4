"""The Litestar application of the gateway API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from mediaplane.observability import HealthChecks, Readiness
from mediaplane.observability.http import (
    PrometheusController,
    RequestContextMiddleware,
    health_handlers,
    opentelemetry_plugin,
    prometheus_config,
)
from mediaplane.servicekit.auth import TokenVerifier
from mediaplane.servicekit.problems import EXCEPTION_HANDLERS
from mediaplane.servicekit.rate_limit import OwnerRateLimiter
from mediaplane.upload_gateway.api.dev import dev_token_route
from mediaplane.upload_gateway.api.routes import FileController, TagController, UploadController
from mediaplane.upload_gateway.app.bootstrap import gateway
from mediaplane.upload_gateway.config import SERVICE, GatewaySettings


class _LateChecks(HealthChecks):
    """Health checks that exist once the lifespan has built the resources."""

    def __init__(self) -> None:
        super().__init__({})
        self.target: HealthChecks | None = None

    async def ready(self) -> Readiness:
        if self.target is None:
            return Readiness(ready=False, checks={"startup": "down: starting"})
        return await self.target.ready()


def create_app(settings: GatewaySettings) -> Litestar:
    checks = _LateChecks()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with gateway(settings) as resources:
            app.state.service = resources.service
            checks.target = resources.health
            yield
            checks.target = None

    app = Litestar(
        route_handlers=[
            UploadController,
            TagController,
            FileController,
            *health_handlers(checks),
            PrometheusController,
            *([dev_token_route(settings.auth)] if settings.dev_mode else []),
        ],
        lifespan=[lifespan],
        middleware=[prometheus_config(SERVICE).middleware, RequestContextMiddleware()],
        plugins=[opentelemetry_plugin()],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="mediaplane upload-gateway",
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
    app.state.verifier = TokenVerifier(settings.auth)
    app.state.rate_limiter = OwnerRateLimiter(settings.rate_limit)
    return app
