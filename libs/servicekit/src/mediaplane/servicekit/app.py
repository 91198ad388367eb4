"""The Litestar application of a public HTTP service, set up the same way for each."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, Router

# Litestar (pinned exactly) exports its msgspec schema plugin from no public module.
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.exceptions import ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Schema, SecurityScheme
from litestar.routes import HTTPRoute
from litestar.types import ControllerRouterHandler
from litestar.typing import FieldDefinition

from mediaplane.observability.health import HealthChecks
from mediaplane.observability.http import (
    PrometheusController,
    RequestContextMiddleware,
    RequestMetricsMiddleware,
    health_handlers,
    tracing_plugins,
)
from mediaplane.servicekit.auth import AuthSettings, TokenVerifier
from mediaplane.servicekit.errors import Problem
from mediaplane.servicekit.principal import attach_auth
from mediaplane.servicekit.problems import document_problems, exception_handlers
from mediaplane.servicekit.rate_limit import RateLimit

# JSON Schema keywords of a scalar, as Litestar's `Schema` names them.
_SCALAR_KEYWORDS = {
    "type": "type",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "format": "format",
}


class _StrictStructSchemas(StructSchemaPlugin):
    """Litestar's msgspec schemas, with what they leave out and msgspec enforces:
    `additionalProperties: false` for a struct that refuses unknown fields (the request
    bodies), and the constraints on a list's items (`list[Annotated[str, Meta(...)]]`),
    taken from msgspec's own JSON Schema of the struct."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        config: msgspec.structs.StructConfig = struct.__struct_config__
        if config.forbid_unknown_fields:
            schema.additional_properties = False
        _, definitions = msgspec.json.schema_components([struct])
        exact = definitions[struct.__name__].get("properties", {})
        for name, generated in (schema.properties or {}).items():
            items = exact.get(name, {}).get("items", {})
            if isinstance(generated, Schema) and items and "$ref" not in items:
                generated.items = Schema(
                    **{
                        _SCALAR_KEYWORDS[key]: value
                        for key, value in items.items()
                        if key in _SCALAR_KEYWORDS
                    }
                )
        return schema


class _BeforeEveryRoute:
    """What every public route checks before its handler runs.

    A coroutine although it does no I/O: Litestar runs a synchronous
    `before_request` in a worker thread, a thread hop on every request."""

    def __init__(self) -> None:
        # Route path -> `Allow` value, filled in once the app and its routes exist.
        self.allow: dict[str, str] = {}

    async def __call__(self, request: Request[Any, Any, Any]) -> Response[None] | None:
        if request.method == "OPTIONS":
            # Litestar's own answer lists only the methods of the first handler registered
            # on a path (the route it was made for was merged into another since).
            allow = self.allow[request.scope["path_template"]]
            return Response(None, status_code=204, headers={"Allow": allow})
        self._one_value_per_query_parameter(request)
        self._no_nul_characters(request)
        return None

    @staticmethod
    def _no_nul_characters(request: Request[Any, Any, Any]) -> None:
        """Refuse a NUL character (`%00`) in the path or a query value: no name, tag, filter
        or id of ours holds one, and Postgres cannot store one in text, so a route would
        otherwise fail with a 500 when it reaches the database."""
        bad = [
            {"key": key, "source": "query", "message": "holds a NUL character"}
            for key, value in request.query_params.multi_items()
            if "\x00" in key or "\x00" in value
        ]
        if "\x00" in request.scope["path"]:
            bad.append({"key": "path", "source": "path", "message": "holds a NUL character"})
        if bad:
            raise ValidationException(detail="a NUL character is not allowed", extra=bad)

    @staticmethod
    def _one_value_per_query_parameter(request: Request[Any, Any, Any]) -> None:
        """Refuse `?limit=1&limit=500`: no route takes a list in the query, and which of two
        values a layer (cache, proxy, the app) would read is not something to leave open."""
        keys = [key for key, _ in request.query_params.multi_items()]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValidationException(
                detail="a query parameter is given more than once",
                extra=[
                    {"key": key, "source": "query", "message": "given more than once"}
                    for key in repeated
                ],
            )


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
    ids, Prometheus, OTel when tracing is on, problem+json errors (each status a route can
    answer is in its OpenAPI responses), the start-up heap frozen (`gc.freeze`), the JWT
    verifier and the per-owner rate limiter the principal dependencies use (with a JWKS,
    its keys are fetched before the first request and kept fresh in the background). `problems` maps
    the service's domain error codes to HTTP (api/problems.py)."""

    @asynccontextmanager
    async def keys_fresh(app: Litestar) -> AsyncIterator[None]:
        verifier: TokenVerifier = app.state.verifier
        async with verifier.running():
            yield

    @asynccontextmanager
    async def frozen(app: Litestar) -> AsyncIterator[None]:
        # Entered last: what exists now (imports, the app, its pools) lives as
        # long as the process. Frozen, the collector no longer walks it: a full
        # collection, triggered every few hundred requests, otherwise pauses
        # whichever request is running for the whole heap's walk.
        gc.freeze()
        yield

    before_every_route = _BeforeEveryRoute()
    app = Litestar(
        route_handlers=[
            *route_handlers,
            # Operational endpoints: the edge keeps them inside, so they are no public API.
            Router(
                "/",
                route_handlers=[*health_handlers(checks), PrometheusController],
                include_in_schema=False,
            ),
        ],
        lifespan=[keys_fresh, lifespan, frozen],
        middleware=[RequestMetricsMiddleware(service), RequestContextMiddleware()],
        plugins=[_StrictStructSchemas(), *tracing_plugins()],
        before_request=before_every_route,
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
    before_every_route.allow = {
        route.path_format: ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }
    document_problems(app)
    attach_auth(app, auth, rate_limit)
    return app
