"""The public APIs' OpenAPI: problem+json per route, strict bodies, and one merged document."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import msgspec
import pytest
from litestar import Controller, Litestar, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.testing import AsyncTestClient

from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.openapi import MergeConflict, api_document, merge
from mediaplane.servicekit.rate_limit import RateLimit


@asynccontextmanager
async def _idle(app: Litestar) -> AsyncIterator[None]:
    yield


def document(paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": paths,
        "components": {"schemas": schemas},
        "security": [{"bearer": []}],
    }


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_one_path_served_by_two_services_joins_their_methods() -> None:
    merged = merge(
        {
            "gateway": document({"/v1/x": {"post": {"operationId": "a"}}}, {}),
            "catalog": document({"/v1/x": {"get": {"operationId": "b"}}}, {}),
        }
    )
    assert merged["paths"]["/v1/x"] == {"post": {"operationId": "a"}, "get": {"operationId": "b"}}
    assert merged["security"] == [{"bearer": []}]


def test_one_operation_defined_by_two_services_is_refused() -> None:
    with pytest.raises(MergeConflict, match="GET /v1/x"):
        merge(
            {
                "gateway": document({"/v1/x": {"get": {}}}, {}),
                "catalog": document({"/v1/x": {"get": {}}}, {}),
            }
        )


def test_a_schema_two_services_define_differently_is_named_after_each() -> None:
    merged = merge(
        {
            "upload-gateway": document(
                {"/v1/a": {"get": {"responses": {"200": ref("View")}}}},
                {"View": {"type": "object"}, "Problem": {"type": "object"}},
            ),
            "catalog": document(
                {"/v1/b": {"get": {"responses": {"200": ref("View")}}}},
                {"View": {"type": "string"}, "Problem": {"type": "object"}},
            ),
        }
    )
    assert merged["components"]["schemas"] == {
        "CatalogView": {"type": "string"},
        "Problem": {"type": "object"},
        "UploadGatewayView": {"type": "object"},
    }
    assert merged["paths"]["/v1/a"]["get"]["responses"]["200"] == ref("UploadGatewayView")
    assert merged["paths"]["/v1/b"]["get"]["responses"]["200"] == ref("CatalogView")


class Body(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    names: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=8)]], msgspec.Meta(max_length=3)
    ]


class Things(Controller):
    path = "/v1/things"

    @get("/")
    async def list_things(self, limit: FromQuery[int] = 10) -> dict[str, int]:
        return {"limit": limit}

    @get("/{thing_id:uuid}")
    async def get_thing(self, thing_id: FromPath[uuid.UUID]) -> dict[str, str]:
        return {"id": str(thing_id)}

    @delete("/{thing_id:uuid}", status_code=200)
    async def drop_thing(self, thing_id: FromPath[uuid.UUID]) -> dict[str, str]:
        return {"dropped": str(thing_id)}

    @post("/")
    async def add_things(self, data: JSONBody[Body]) -> dict[str, int]:
        return {"added": len(data.names)}


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def test_every_route_documents_its_problems_by_its_shape() -> None:
    document = api_document("things", [Things])
    problem = {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    }
    statuses = {
        (method, path): sorted(int(s) for s in operation(document, method, path)["responses"])
        for method, path in (
            ("get", "/v1/things"),
            ("get", "/v1/things/{thing_id}"),
            ("post", "/v1/things"),
        )
    }
    assert statuses == {
        ("get", "/v1/things"): [200, 400, 401, 403, 429, 500, 502, 503],
        ("get", "/v1/things/{thing_id}"): [200, 400, 401, 403, 404, 429, 500, 502, 503],
        ("post", "/v1/things"): [201, 400, 401, 403, 409, 410, 413, 415, 422, 429, 500, 502, 503],
    }
    for status, response in operation(document, "post", "/v1/things")["responses"].items():
        if int(status) >= 400:
            assert response["content"] == problem, status
    # Operational endpoints are not public API.
    assert sorted(document["paths"]) == ["/v1/things", "/v1/things/{thing_id}"]


def test_a_strict_body_says_so_with_its_item_limits() -> None:
    body = api_document("things", [Things])["components"]["schemas"]["Body"]
    assert body["additionalProperties"] is False
    names = body["properties"]["names"]
    assert names["maxItems"] == 3
    assert names["items"] == {"type": "string", "minLength": 1, "maxLength": 8}


async def test_a_query_parameter_given_twice_is_refused() -> None:
    app = public_api(
        service="things",
        route_handlers=[Things],
        lifespan=_idle,
        checks=DeferredHealthChecks(),
        auth=AuthSettings(hs256_secret="x" * 32),
        rate_limit=RateLimit(),
    )
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/v1/things?limit=5")).json() == {"limit": 5}
        refused = await client.get("/v1/things?limit=5&limit=500")
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "invalid_request"
    assert problem["errors"] == [
        {"key": "limit", "source": "query", "message": "given more than once"}
    ]


async def test_a_nul_character_in_a_query_value_or_the_path_is_refused() -> None:
    """Found by the catalog's conformance test: `?tag=...%00...` reached Postgres (which
    stores no NUL in text) and answered 500."""

    @get("/v1/names/{name:str}")
    async def get_name(name: FromPath[str]) -> dict[str, str]:
        return {"name": name}

    app = public_api(
        service="things",
        route_handlers=[Things, get_name],
        lifespan=_idle,
        checks=DeferredHealthChecks(),
        auth=AuthSettings(hs256_secret="x" * 32),
        rate_limit=RateLimit(),
    )
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/v1/names/ab")).json() == {"name": "ab"}
        in_query = await client.get("/v1/things?limit=5&tag=a%00b")
        in_path = await client.get("/v1/names/a%00b")
    for refused in (in_query, in_path):
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "invalid_request"
    assert in_query.json()["errors"] == [
        {"key": "tag", "source": "query", "message": "holds a NUL character"}
    ]


async def test_options_lists_every_method_of_a_path() -> None:
    app = public_api(
        service="things",
        route_handlers=[Things],
        lifespan=_idle,
        checks=DeferredHealthChecks(),
        auth=AuthSettings(hs256_secret="x" * 32),
        rate_limit=RateLimit(),
    )
    async with AsyncTestClient(app=app) as client:
        both = await client.options(f"/v1/things/{uuid.uuid4()}")
        root = await client.options("/v1/things")
    assert (both.status_code, both.headers["allow"]) == (204, "DELETE, GET, OPTIONS")
    assert root.headers["allow"] == "GET, OPTIONS, POST"
