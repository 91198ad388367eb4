"""The Litestar application of the gateway API."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.observability.http import (
    PrometheusController,
    RequestContextMiddleware,
    health_handlers,
    prometheus_config,
    tracing_plugins,
)
from mediaplane.servicekit.principal import attach_auth
from mediaplane.servicekit.problems import EXCEPTION_HANDLERS
from mediaplane.upload_gateway.api.dev import dev_token_route
from mediaplane.upload_gateway.api.routes import FileController, TagController, UploadController
from mediaplane.upload_gateway.app.bootstrap import gateway
from mediaplane.upload_gateway.config import SERVICE, GatewaySettings


def create_app(settings: GatewaySettings) -> Litestar:
    checks = DeferredHealthChecks()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with gateway(settings) as resources:
            app.state.service = resources.service
            checks.target = resources.health
            # What exists now (imports, app, pool) lives as long as the process:
            # frozen, full collections no longer walk it on every request burst.
            gc.freeze()
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
        plugins=tracing_plugins(),
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
    attach_auth(app, settings.auth, settings.rate_limit)
    return app
