"""Litestar pieces every HTTP service and worker shares: request context, health, metrics."""

from __future__ import annotations

import functools
import time
import uuid
from typing import Any

from litestar import Litestar, Response, get
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import Span, TracerProvider
from prometheus_client import Counter, Gauge, Histogram

from mediaplane.observability.health import HealthChecks, Readiness
from mediaplane.observability.logs import bind_context
from mediaplane.observability.redact import redact

REQUEST_ID_HEADER = "x-request-id"
CORRELATION_ID_HEADER = "x-correlation-id"
# W3C Trace Context level 2: the trace a request joined, so a caller can open it
# in the trace backend (an upload's whole processing continues the trace of its
# `complete` request).
TRACE_RESPONSE_HEADER = "traceresponse"
_UNINSTRUMENTED = ["/metrics", "/health"]
# Server span attributes that hold the request's query string.
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")


class RequestContextMiddleware(ASGIMiddleware):
    """Bind request and correlation ids to the logs, echo the request id, name the span.

    Runs after routing, so it can name the OTel span by route template instead
    of the raw path (which would put every file id into a span name).
    """

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = dict(scope["headers"])
        request_id = headers.get(REQUEST_ID_HEADER.encode(), b"").decode()[:128] or str(
            uuid.uuid4()
        )
        correlation_id = (
            headers.get(CORRELATION_ID_HEADER.encode(), b"").decode()[:128] or request_id
        )
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation_id
        bind_context(request_id=request_id, correlation_id=correlation_id, path=scope["path"])

        template = scope.get("path_template")
        span = trace.get_current_span()
        added = [(REQUEST_ID_HEADER.encode(), request_id.encode())]
        if span.is_recording():
            if template:
                span.update_name(f"{scope.get('method', '')} {template}")
                span.set_attribute("http.route", template)
            context = span.get_span_context()
            traced = f"00-{context.trace_id:032x}-{context.span_id:016x}-01"
            added.append((TRACE_RESPONSE_HEADER.encode(), traced.encode()))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *added]
            await send(message)

        await next_app(scope, receive, send_with_id)


def health_handlers(checks: HealthChecks) -> list[HTTPRouteHandler]:
    """`/health/live` (the process answers) and `/health/ready` (its dependencies do)."""

    @get("/health/live", include_in_schema=False, sync_to_thread=False)
    def live() -> dict[str, str]:
        return {"status": "live"}

    @get("/health/ready", include_in_schema=False)
    async def ready() -> Response[Readiness]:
        readiness = await checks.ready()
        return Response(readiness, status_code=200 if readiness.ready else 503)

    return [live, ready]


def _operational(scope: Scope) -> bool:
    """/metrics and /health/*: their scrapes and probes are not the service's traffic."""
    return str(scope["path"]).startswith(tuple(_UNINSTRUMENTED))


_LABELS = ("method", "path", "status_code", "app_name")


class _RequestMetrics:
    """The request metrics of the process."""

    def __init__(self) -> None:
        self.count = Counter("mediaplane_http_requests_total", "Total requests", _LABELS)
        self.duration = Histogram(
            "mediaplane_http_request_duration_seconds", "Request duration, in seconds", _LABELS
        )
        self.in_progress = Gauge(
            "mediaplane_http_requests_in_progress",
            "Total requests currently in progress",
            _LABELS,
            multiprocess_mode="livesum",
        )
        self.errors = Counter(
            "mediaplane_http_requests_error_total", "Total errors in requests", _LABELS
        )


@functools.cache
def _request_metrics() -> _RequestMetrics:
    """Registered once per process, however many apps it builds (tests build many)."""
    return _RequestMetrics()


class RequestMetricsMiddleware(ASGIMiddleware):
    """Requests, their duration, errors (5xx) and those in progress, by route template.

    The series Litestar's Prometheus plugin kept, by the same names and labels
    (dashboards and alerts read them), at a fraction of its cost per request:
    the plugin builds a `Request` and parses its URL on every request and looks
    up every labelled series anew, ~11 % of a gateway request's CPU outside
    its I/O; here each route's series are looked up once and kept.
    """

    scopes = (ScopeType.HTTP,)

    def __init__(self, service: str) -> None:
        self.should_bypass_for_scope = _operational
        self._service = service
        self._metrics = _request_metrics()
        # (method, route template[, status]) -> its series, found once.
        self._running: dict[tuple[str, str], Gauge] = {}
        self._finished: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter | None]] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        method = str(scope.get("method", ""))
        route: str = scope["path_template"]
        running = self._running.get((method, route))
        if running is None:
            # Labelled as the plugin did, which counted a running request as a 200.
            running = self._metrics.in_progress.labels(method, route, 200, self._service)
            self._running[(method, route)] = running
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        running.inc()
        try:
            await next_app(scope, receive, send_noting_status)
        finally:
            running.dec()
            count, duration, errors = self._series(method, route, status)
            count.inc()
            duration.observe(time.perf_counter() - started)
            if errors is not None:
                errors.inc()

    def _series(
        self, method: str, route: str, status: int
    ) -> tuple[Counter, Histogram, Counter | None]:
        key = (method, route, status)
        series = self._finished.get(key)
        if series is None:
            labels = (method, route, status, self._service)
            metrics = self._metrics
            errors = metrics.errors.labels(*labels) if status >= 500 else None
            series = (metrics.count.labels(*labels), metrics.duration.labels(*labels), errors)
            self._finished[key] = series
        return series


def _redact_span_urls(span: Span, scope: dict[str, Any]) -> None:
    """Spans record the URL with its query string: mask credentials there as in the logs."""
    attributes = getattr(span, "attributes", None) or {}
    for key in _URL_ATTRIBUTES:
        value = attributes.get(key)
        if isinstance(value, str):
            span.set_attribute(key, redact(value))


def opentelemetry_plugin(tracer_provider: TracerProvider | None = None) -> OpenTelemetryPlugin:
    """Server spans per request; the per-message send/receive spans (named by raw path) are off."""
    return OpenTelemetryPlugin(
        OpenTelemetryConfig(
            tracer_provider=tracer_provider,
            exclude=_UNINSTRUMENTED,
            exclude_spans=["receive", "send"],
            server_request_hook_handler=_redact_span_urls,
        )
    )


def tracing_plugins(tracer_provider: TracerProvider | None = None) -> list[OpenTelemetryPlugin]:
    """The OTel plugin when spans go somewhere, else none.

    Spans go somewhere when a provider is given or `configure_tracing` installed
    an SDK provider (an exporter is configured). Without one the middleware
    would still collect request attributes and wrap every send for spans that
    record nothing: ~8 % of the CPU of a gateway request.
    """
    if tracer_provider is None and not isinstance(trace.get_tracer_provider(), SdkTracerProvider):
        return []
    return [opentelemetry_plugin(tracer_provider)]


def ops_app(service: str, checks: HealthChecks) -> Litestar:
    """The health and metrics endpoints of a worker process (no public API)."""
    return Litestar(
        route_handlers=[*health_handlers(checks), PrometheusController],
        logging_config=None,
        openapi_config=None,
        debug=False,
    )


__all__ = [
    "CORRELATION_ID_HEADER",
    "REQUEST_ID_HEADER",
    "TRACE_RESPONSE_HEADER",
    "PrometheusController",
    "RequestContextMiddleware",
    "RequestMetricsMiddleware",
    "health_handlers",
    "opentelemetry_plugin",
    "ops_app",
    "tracing_plugins",
]
