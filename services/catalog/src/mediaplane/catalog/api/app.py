"""The Litestar application of the catalog's query API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from mediaplane.catalog.api.routes import (
    EventController,
    FileController,
    TagController,
    UploadController,
)
from mediaplane.catalog.app.bootstrap import catalog
from mediaplane.catalog.config import SERVICE, CatalogSettings
from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.app import public_api


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

    return public_api(
        service=SERVICE,
        route_handlers=[
            FileController,
            TagController,
            UploadController,
            EventController,
        ],
        lifespan=lifespan,
        checks=checks,
        auth=settings.auth,
        rate_limit=settings.rate_limit,
    )
