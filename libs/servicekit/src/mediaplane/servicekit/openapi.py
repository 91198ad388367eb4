"""The public APIs' OpenAPI documents, built without any server, and merged into one.

The edge serves one API at one base URL (commands to one service, queries to
another), so a client reads one document: `merge` joins the services' documents
and refuses anything two of them would define differently.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.types import ControllerRouterHandler

from mediaplane.observability.health import DeferredHealthChecks
from mediaplane.servicekit.app import public_api
from mediaplane.servicekit.auth import AuthSettings
from mediaplane.servicekit.rate_limit import RateLimit

TITLE = "mediaplane API"
VERSION = "1.0.0"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class MergeConflict(ValueError):
    """Two documents define the same operation, schema or scheme differently."""


@asynccontextmanager
async def _idle(app: Litestar) -> AsyncIterator[None]:
    yield


def api_document(service: str, route_handlers: Sequence[ControllerRouterHandler]) -> dict[str, Any]:
    """The OpenAPI document `public_api` serves for `route_handlers` (nothing is started:
    the document depends on the routes only)."""
    app = public_api(
        service=service,
        route_handlers=route_handlers,
        lifespan=_idle,
        checks=DeferredHealthChecks(),
        # Never used: no request is served. Long enough for the verifier's own checks.
        auth=AuthSettings(hs256_secret="x" * 32),
        rate_limit=RateLimit(),
    )
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _same(kind: str, name: str, mine: Any, theirs: Any) -> None:
    if mine != theirs:
        raise MergeConflict(f"{kind} {name!r} is defined differently by two services")


def _prefix(service: str) -> str:
    return "".join(word.capitalize() for word in service.replace("_", "-").split("-"))


def _qualify_clashes(documents: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents, with each schema that two services define differently named after its
    service (`SessionView` -> `CatalogSessionView`), references included."""
    seen: dict[str, list[Any]] = {}
    for document in documents.values():
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if schema not in seen.setdefault(name, []):
                seen[name].append(schema)
    clashing = {name for name, variants in seen.items() if len(variants) > 1}
    qualified = []
    for service, document in documents.items():
        text = json.dumps(document)
        for name in document.get("components", {}).get("schemas", {}):
            if name in clashing:
                new = _prefix(service) + name
                text = text.replace(
                    f'"#/components/schemas/{name}"', f'"#/components/schemas/{new}"'
                )
        renamed = json.loads(text)
        schemas = renamed.get("components", {}).get("schemas", {})
        for name in [name for name in schemas if name in clashing]:
            schemas[_prefix(service) + name] = schemas.pop(name)
        qualified.append(renamed)
    return qualified


def merge(by_service: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One document for every route of the services' documents: paths joined by method,
    components and tags by name (a schema two services define differently is named after
    each service), one security requirement."""
    documents = _qualify_clashes(by_service)
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, dict[str, Any]] = {}
    operation_ids: dict[str, str] = {}
    security: list[Any] | None = None
    for document in documents:
        for path, item in document.get("paths", {}).items():
            merged = paths.setdefault(path, {})
            for key, value in item.items():
                if key in _METHODS and key in merged:
                    raise MergeConflict(f"{key.upper()} {path} is served by two services")
                if key not in _METHODS and key in merged:
                    _same("path item field", f"{path} {key}", merged[key], value)
                merged[key] = value
                operation_id = value.get("operationId") if key in _METHODS else None
                if operation_id:
                    if operation_id in operation_ids:
                        raise MergeConflict(f"operationId {operation_id!r} is used twice")
                    operation_ids[operation_id] = path
        for section, entries in document.get("components", {}).items():
            merged_section = components.setdefault(section, {})
            for name, value in entries.items():
                if name in merged_section:
                    _same(section, name, merged_section[name], value)
                merged_section[name] = value
        for tag in document.get("tags", []):
            if tag["name"] in tags:
                _same("tag", tag["name"], tags[tag["name"]], tag)
            tags[tag["name"]] = tag
        if security is not None and document.get("security") != security:
            raise MergeConflict("the services ask for different security")
        security = document.get("security")
    merged_document: dict[str, Any] = {
        "openapi": documents[0]["openapi"] if documents else "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "The public API of mediaplane behind its edge: commands (upload-gateway),"
                " queries (catalog) and accounts (identity) at one base URL. Every error is"
                " RFC 9457 application/problem+json with a stable `code`. Sign-in itself is"
                " OAuth 2 / OpenID Connect, described by /.well-known/openid-configuration."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {path: paths[path] for path in sorted(paths)},
        "components": {
            section: {name: entries[name] for name in sorted(entries)}
            for section, entries in sorted(components.items())
        },
    }
    if security is not None:
        merged_document["security"] = security
    if tags:
        merged_document["tags"] = [tags[name] for name in sorted(tags)]
    return merged_document


def render(document: dict[str, Any]) -> str:
    """The document as committed: stable key order, one trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def merged_document(sources: Sequence[str]) -> dict[str, Any]:
    """`merge` of the documents of `service=module:ATTRIBUTE` sources, where ATTRIBUTE is
    the service's public route handlers (imported by name: this package never imports a
    service)."""
    documents = {}
    for source in sources:
        service, _, target = source.partition("=")
        module, _, attribute = target.partition(":")
        if not (service and module and attribute):
            raise ValueError(f"expected service=module:ATTRIBUTE, got {source!r}")
        handlers = getattr(importlib.import_module(module), attribute)
        documents[service] = api_document(service, handlers)
    return merge(documents)
