"""structlog JSON logs for every process, with request, correlation and trace ids.

Standard-library loggers (uvicorn, litestar, psycopg, nats) go through
the same JSON renderer, so one process writes one log format, and every line
passes `redact_secrets` last: no token in a query string reaches the output.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, WrappedLogger

from mediaplane.observability.redact import redact_secrets


def add_otel_ids(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Stamp the current span's trace and span ids, so logs and traces join up."""
    ctx = trace.get_current_span().get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict


def configure_logging(
    service: str, *, level: int | str = logging.INFO, stream: TextIO | None = None
) -> None:
    """JSON lines on stdout (or `stream`), tagged with the service name."""
    numeric = logging.getLevelName(level) if isinstance(level, str) else level

    def add_service(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_service,
        add_otel_ids,
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Standard-library records keep their exception until here: format it
                # so that its text is redacted too.
                structlog.processors.format_exc_info,
                redact_secrets,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)


def bind_context(**values: object) -> None:
    """Start a fresh log context for one request or message."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)
