"""The merged OpenAPI document the edge serves is the one the services' routes make now.

`just openapi` writes it; this test fails when a route changed and nobody
regenerated it (like `just schemas` for the events).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mediaplane.servicekit.openapi import merged_document, render

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "services" / "web-ui" / "public" / "openapi.json"


def sources() -> list[str]:
    """The services `just openapi` merges (one list, in the justfile)."""
    found = re.search(r'^openapi_sources := "([^"]+)"$', (ROOT / "justfile").read_text(), re.M)
    assert found, "the justfile names the services of the OpenAPI document"
    return found.group(1).split()


def test_the_committed_openapi_document_is_up_to_date() -> None:
    fresh = render(merged_document(sources()))
    assert COMMITTED.read_text() == fresh, "run `just openapi` and commit the result"


def test_every_operation_documents_its_errors_as_problem_json() -> None:
    document = json.loads(COMMITTED.read_text())
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete"}
    ]
    assert len(operations) >= 16
    problem = {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    for method, path, operation in operations:
        errors = {s: r for s, r in operation["responses"].items() if int(s) >= 400}
        assert {"400", "401", "429", "500", "503"} <= errors.keys(), (method, path)
        for status, response in errors.items():
            assert response["content"] == {"application/problem+json": problem}, (status, path)
    assert set(document["components"]["schemas"]["ProblemDetails"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
    }


def test_commands_and_queries_share_one_document() -> None:
    paths = json.loads(COMMITTED.read_text())["paths"]
    # The edge sends GET /v1/uploads to the catalog and POST to the gateway.
    assert {"get", "post"} <= paths["/v1/uploads"].keys()
    assert {"get", "delete"} <= paths["/v1/files/{file_id}"].keys()
    # Operational endpoints stay inside, and the dev-mode token route is not public API.
    assert not [p for p in paths if p.startswith(("/health", "/metrics", "/schema", "/v1/dev"))]
