"""Request context, health endpoints, metrics and span names of a Litestar service."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from litestar import Litestar, get
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY, CollectorRegistry

from mediaplane.observability import HealthChecks
from mediaplane.observability.http import (
    PrometheusController,
    RequestContextMiddleware,
    RequestMetricsMiddleware,
    health_handlers,
    opentelemetry_plugin,
    ops_app,
    tracing_plugins,
)
from mediaplane.observability.serve import serve


async def _ok() -> None:
    return None


async def _down() -> None:
    raise OSError("connection refused")


@get("/v1/files/{file_id:str}", sync_to_thread=False)
def file_detail(file_id: FromPath[str]) -> dict[str, str]:
    return {"id": file_id}


def _app(checks: HealthChecks, provider: TracerProvider) -> Litestar:
    return Litestar(
        route_handlers=[file_detail, *health_handlers(checks), PrometheusController],
        middleware=[RequestMetricsMiddleware("test-svc"), RequestContextMiddleware()],
        plugins=[opentelemetry_plugin(provider)],
        logging_config=None,
    )


async def test_health_metrics_request_ids_and_span_names() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = _app(HealthChecks({"postgres": _ok, "nats": _down}), provider)

    async with AsyncTestClient(app=app) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")
        given = await client.get("/v1/files/abc", headers={"x-request-id": "req-123"})
        generated = await client.get("/v1/files/def")
        tokened = await client.get("/v1/files/ghi", params={"pt": "pt-secret", "limit": "5"})
        metrics = await client.get("/metrics")

    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {
        "ready": False,
        "checks": {"postgres": "up", "nats": "down: OSError: connection refused"},
    }
    assert given.headers["x-request-id"] == "req-123"
    assert len(generated.headers["x-request-id"]) == 36
    assert 'path="/v1/files/{file_id}"' in metrics.text
    assert "/v1/files/abc" not in metrics.text
    spans = exporter.get_finished_spans()
    names = [span.name for span in spans]
    assert names.count("GET /v1/files/{file_id}") == 3
    assert not any("abc" in name or "/health" in name for name in names)
    # The URL attributes keep the query, with credentials masked.
    assert tokened.status_code == 200
    attributes = [dict(span.attributes or {}) for span in spans]
    assert any(str(a.get("http.url", "")).endswith("ghi?pt=REDACTED&limit=5") for a in attributes)
    assert "pt-secret" not in repr(attributes)


async def test_a_worker_serves_health_and_metrics_on_its_own_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    task = asyncio.create_task(
        serve(ops_app("worker", HealthChecks({"nats": _ok})), host="127.0.0.1", port=port)
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(600):  # patience for a loaded machine
                try:
                    ready = await client.get("/health/ready")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            metrics = await client.get("/metrics")
            # The server's loop wakes once a second: the Date header still moves on.
            date = ready.headers["date"]
            for _ in range(300):  # patience for a loaded machine, as above
                await asyncio.sleep(0.1)
                if (later := (await client.get("/health/live")).headers["date"]) != date:
                    break
    finally:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task  # stopped by its cancellation
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"nats": "up"}
    assert metrics.status_code == 200
    assert "process_cpu_seconds_total" in metrics.text
    assert later != date, "the Date header did not change in 30 s of polling"


def test_the_tracing_plugin_is_there_only_when_spans_go_somewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(tracing_plugins(TracerProvider())) == 1
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: trace.NoOpTracerProvider())
    assert tracing_plugins() == []
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: TracerProvider())
    assert len(tracing_plugins()) == 1


@get("/v1/broken/{n:int}", sync_to_thread=False)
def broken(n: FromPath[int]) -> None:
    raise RuntimeError(f"broken {n}")


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_request_metrics_count_time_and_errors_by_route() -> None:
    registry = REGISTRY
    app = Litestar(
        route_handlers=[
            file_detail,
            broken,
            *health_handlers(HealthChecks({})),
            PrometheusController,
        ],
        middleware=[RequestMetricsMiddleware("metrics-svc")],
        logging_config=None,
    )
    ok = {"method": "GET", "path": "/v1/files/{file_id}", "app_name": "metrics-svc"}
    bad = {"method": "GET", "path": "/v1/broken/{n}", "app_name": "metrics-svc"}
    before = {
        "ok": _sample(registry, "mediaplane_http_requests_total", **ok, status_code="200"),
        "ok_time": _sample(
            registry, "mediaplane_http_request_duration_seconds_count", **ok, status_code="200"
        ),
        "bad": _sample(registry, "mediaplane_http_requests_total", **bad, status_code="500"),
        "errors": _sample(
            registry, "mediaplane_http_requests_error_total", **bad, status_code="500"
        ),
    }

    async with AsyncTestClient(app=app) as client:
        for name in ("a", "b", "c"):
            assert (await client.get(f"/v1/files/{name}")).status_code == 200
        assert (await client.get("/v1/broken/1")).status_code == 500
        assert (await client.get("/v1/broken/2")).status_code == 500
        assert (await client.get("/health/live")).status_code == 200
        metrics = (await client.get("/metrics")).text

    assert _sample(registry, "mediaplane_http_requests_total", **ok, status_code="200") == (
        before["ok"] + 3
    )
    assert _sample(
        registry, "mediaplane_http_request_duration_seconds_count", **ok, status_code="200"
    ) == (before["ok_time"] + 3)
    assert _sample(registry, "mediaplane_http_requests_total", **bad, status_code="500") == (
        before["bad"] + 2
    )
    assert _sample(registry, "mediaplane_http_requests_error_total", **bad, status_code="500") == (
        before["errors"] + 2
    )
    # Nothing is left counted as running, and a 200 is no error.
    assert _sample(registry, "mediaplane_http_requests_in_progress", **ok, status_code="200") == 0
    assert _sample(registry, "mediaplane_http_requests_error_total", **ok, status_code="200") == 0
    # By route template only: no raw path, and the operational endpoints are not counted.
    assert "/v1/files/a" not in metrics
    assert "/v1/broken/1" not in metrics
    assert 'path="/health/live"' not in metrics
    assert 'path="/metrics"' not in metrics


async def test_request_metrics_of_two_apps_in_one_process_share_the_series() -> None:
    """Every API builds its app once per process, tests many times: a second middleware
    must not register the metrics again (prometheus_client refuses a duplicate name)."""
    first, second = RequestMetricsMiddleware("svc-a"), RequestMetricsMiddleware("svc-b")
    assert first._metrics is second._metrics
