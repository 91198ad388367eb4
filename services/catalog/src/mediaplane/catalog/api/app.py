"""The Litestar application of the catalog's query API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from mediaplane.catalog.api.routes import (
    EventController,
    FileController,
    TagController,
    UploadController,
)
from mediaplane.catalog.app.bootstrap import catalog
from mediaplane.catalog.config import SERVICE, CatalogSettings
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


def create_app(settings: CatalogSettings) -> Litestar:
    checks = DeferredHealthChecks()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with catalog(settings) as resources, resources.changes.running():
            app.state.queries = resources.queries
            app.state.media = resources.media
            app.state.changes = resources.changes
            checks.target = resources.health
            yield
            checks.target = None

    app = Litestar(
        route_handlers=[
            FileController,
            TagController,
            UploadController,
            EventController,
            *health_handlers(checks),
            PrometheusController,
        ],
        lifespan=[lifespan],
        middleware=[prometheus_config(SERVICE).middleware, RequestContextMiddleware()],
        plugins=tracing_plugins(),
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="mediaplane catalog",
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
