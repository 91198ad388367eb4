"""RFC 9457 problem+json for every error, each with a stable `code`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from mediaplane.domain import DomainError
from mediaplane.servicekit.errors import ProblemError, ProblemTable
from mediaplane.storage import StorageError, StorageUnavailable

PROBLEM_JSON = "application/problem+json"
_log = structlog.get_logger(__name__)

# Codes of the framework's own HTTP errors.
_HTTP_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ProblemDetails(msgspec.Struct, kw_only=True):
    """The body of every error response (RFC 9457), as `problem` writes it."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    # Only with code `invalid_request`: which inputs were refused, and why.
    errors: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET


# The statuses documented on every public route: a refused input, a missing or bad token,
# no right, the owner's rate limit, a bug, object storage failing or unreachable (or the
# signing keys).
EVERY_ROUTE = (400, 401, 403, 429, 500, 502, 503)
# ...on a route with a path parameter: what it names does not exist (for the caller).
NAMED_RESOURCE = (404,)
# ...on a route that changes state: the state, the input's meaning, size or type refused.
COMMAND = (409, 410, 413, 415, 422)


def problem_statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> list[int]:
    """What a public route can answer besides success, by the route's shape."""
    statuses = [*EVERY_ROUTE]
    if route.path_parameters:
        statuses += NAMED_RESOURCE
    if handler.http_methods - {"GET", "HEAD", "OPTIONS"}:
        statuses += COMMAND
    return sorted(statuses)


def document_problems(app: Litestar) -> None:
    """Declare the problem+json responses of every route of `app` in its OpenAPI document,
    one place for all routes; a handler's own `responses` win over these."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            documented = {
                status: ResponseSpec(
                    data_container=ProblemDetails,
                    media_type=PROBLEM_JSON,
                    description=HTTPStatus(status).phrase,
                    generate_examples=False,
                )
                for status in problem_statuses(route, handler)
            }
            handler.responses = {**documented, **(handler.responses or {})}


def problem(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"https://mediaplane.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        **(extra or {}),
    }
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _refused(request: Request[Any, Any, Any], exc: ProblemError) -> Response[dict[str, Any]]:
    headers = {"WWW-Authenticate": 'Bearer realm="mediaplane"'} if exc.status == 401 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return problem(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=headers,
    )


def _validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    return problem(
        request,
        status=400,
        code="invalid_request",
        title="Invalid request",
        detail=str(exc.detail),
        extra={"errors": errors},
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(
        request,
        status=exc.status_code,
        code=code,
        title=str(exc.detail),
        detail=str(exc.detail),
        headers=exc.headers,
    )


def _storage(request: Request[Any, Any, Any], exc: StorageError) -> Response[dict[str, Any]]:
    _log.warning("storage.failed", error=type(exc).__name__, detail=str(exc))
    if isinstance(exc, StorageUnavailable):
        return problem(
            request,
            status=503,
            code="storage_unavailable",
            title="Object storage unavailable",
            detail="retry later",
            headers={"Retry-After": "5"},
        )
    return problem(
        request, status=502, code="storage_error", title="Object storage error", detail=str(exc)
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    _log.exception("request.failed", error=type(exc).__name__)
    return problem(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code="internal_error",
        title="Internal error",
        detail="the request failed; it was logged",
    )


def _domain(problems: ProblemTable) -> Any:
    def refused(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
        mapped = problems.get(exc.code)
        if mapped is None:
            # A refusal the API never declared is a bug, not the client's fault.
            _log.error("problem.unmapped", code=exc.code, error=type(exc).__name__)
            return _unexpected(request, exc)
        return problem(
            request, status=mapped.status, code=exc.code, title=mapped.title, detail=exc.detail
        )

    return refused


def exception_handlers(problems: ProblemTable) -> ExceptionHandlersMap:
    """Every handler, with domain errors answered from `problems` (code -> status, title)."""
    return {DomainError: _domain(problems), **EXCEPTION_HANDLERS}


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ProblemError: _refused,
    ValidationException: _validation,
    HTTPException: _http,
    StorageError: _storage,
    Exception: _unexpected,
}
