"""OpenTelemetry tracing: off unless an exporter is configured.

`MEDIAPLANE_OTEL_EXPORTER=otlp` sends spans over OTLP/HTTP to
`OTEL_EXPORTER_OTLP_ENDPOINT` (the standard variable; `just up` points it at
the local stack's trace backend), `console` prints them.
Without it the global provider stays the no-op one and tracing costs nothing;
trace context is still propagated in headers.
"""

from __future__ import annotations

import os
from typing import Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

Exporter = Literal["none", "console", "otlp"]


def _exporter(kind: Exporter) -> SpanExporter | None:
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def exporter_from_env() -> Exporter:
    value = os.environ.get("MEDIAPLANE_OTEL_EXPORTER", "none").lower()
    if value not in ("none", "console", "otlp"):
        raise ValueError(f"MEDIAPLANE_OTEL_EXPORTER must be none, console or otlp, not {value!r}")
    return value  # type: ignore[return-value]


class ServiceAttributes(SpanProcessor):
    """Copies `service.name` and the role onto every span.

    They are resource attributes, which some backends drop (the local stack's
    Phoenix keeps span attributes only): without them a trace would not say
    which process each hop ran in.
    """

    def __init__(self, service: str, role: str | None) -> None:
        self._attributes = {"service.name": service, **({"mediaplane.role": role} if role else {})}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        span.set_attributes(self._attributes)


def configure_tracing(
    service: str,
    *,
    role: str | None = None,
    exporter: Exporter | None = None,
    processor: SpanProcessor | None = None,
) -> TracerProvider | None:
    """Install a global TracerProvider for `service` (its `role` process); returns None when
    tracing is off.

    `processor` lets tests capture spans in memory.
    """
    kind = exporter if exporter is not None else exporter_from_env()
    span_exporter = _exporter(kind)
    if span_exporter is None and processor is None:
        return None
    resource = {"service.name": service, **({"mediaplane.role": role} if role else {})}
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(ServiceAttributes(service, role))
    if span_exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(span_exporter))
    if processor is not None:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider
