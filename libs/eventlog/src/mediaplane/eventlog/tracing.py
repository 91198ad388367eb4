"""The relay's hop in an event's trace.

An event stores the W3C trace context of the span that appended it; the
relay's PRODUCER span continues that trace and becomes the consumers' parent.
It starts when the event was recorded, so its length is what the event spent
in the outbox (waiting for a relay to wake up and claim it) plus the publish
up to JetStream's acknowledgement: the relay's whole share of the latency.
Events stored without trace context get no span (they started no trace).
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from mediaplane.contracts import headers
from mediaplane.eventlog.outbox import OutboxMessage

TRACER_NAME = "mediaplane.eventlog.relay"


def relay_tracer(provider: TracerProvider | None) -> Tracer:
    """The relay's tracer from `provider`, or from the global provider when None."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)


class RelaySpan:
    """The span of one message between its claim and its acknowledgement."""

    def __init__(self, message: OutboxMessage, relay: str, tracer: Tracer) -> None:
        self.headers = message.headers
        self._span: Span | None = None
        if "traceparent" not in message.headers:
            return
        span = tracer.start_span(
            f"{message.subject} relay",
            context=propagate.extract(message.headers),
            kind=SpanKind.PRODUCER,
            start_time=int(message.recorded_at.timestamp() * 1e9),
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": message.subject,
                "messaging.message.id": message.headers.get(headers.MSG_ID, ""),
                "mediaplane.relay": relay,
            },
        )
        self._span = span
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        self.headers = {**message.headers, **carrier}

    def end(self, failure: str | None = None) -> None:
        if self._span is None:
            return
        if failure is not None:
            self._span.set_status(Status(StatusCode.ERROR, failure))
        self._span.end()
