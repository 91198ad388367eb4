"""Every log line is one JSON object carrying the request, correlation and trace ids."""

from __future__ import annotations

import io
import json
import logging

import structlog
from opentelemetry.sdk.trace import TracerProvider

from mediaplane.observability import bind_context, configure_logging


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_and_stdlib_loggers_write_the_same_json_with_the_bound_context() -> None:
    out = io.StringIO()
    configure_logging("upload-gateway", stream=out)
    bind_context(request_id="req-1", correlation_id="corr-1")

    structlog.get_logger("mediaplane.test").info("upload.opened", file_id="f-1")
    logging.getLogger("uvicorn.access").warning("GET /v1/uploads 200")

    first, second = _lines(out)
    assert first["event"] == "upload.opened"
    assert first["file_id"] == "f-1"
    assert first["level"] == "info"
    assert second["event"] == "GET /v1/uploads 200"
    assert second["logger"] == "uvicorn.access"
    for line in (first, second):
        assert line["service"] == "upload-gateway"
        assert line["request_id"] == "req-1"
        assert line["correlation_id"] == "corr-1"
        assert str(line["timestamp"]).endswith("Z")


def test_log_lines_inside_a_span_carry_its_trace_and_span_ids() -> None:
    out = io.StringIO()
    configure_logging("catalog", stream=out)
    bind_context()
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("work") as span:
        structlog.get_logger().info("inside")
    structlog.get_logger().info("outside")

    inside, outside = _lines(out)
    ctx = span.get_span_context()
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in outside


def test_the_level_filters_debug_lines() -> None:
    out = io.StringIO()
    configure_logging("janitor", level="WARNING", stream=out)
    structlog.get_logger().info("hidden")
    structlog.get_logger().warning("shown")
    assert [line["event"] for line in _lines(out)] == ["shown"]
