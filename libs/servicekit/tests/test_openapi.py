"""Merging the services' OpenAPI documents: joined by method, conflicts refused."""

from __future__ import annotations

from typing import Any

import pytest

from mediaplane.servicekit.openapi import MergeConflict, merge


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
