"""W3C trace context across NATS: inject on publish, extract and open a span on consume."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

TRACER_NAME = "mediaplane.bus"


def tracer(provider: TracerProvider | None) -> trace.Tracer:
    """The bus tracer from `provider`, or from the global provider when None."""
    return trace.get_tracer(TRACER_NAME, tracer_provider=provider)


@contextmanager
def producer_span(
    provider: TracerProvider | None, subject: str, attributes: Mapping[str, str]
) -> Iterator[dict[str, str]]:
    """A PRODUCER span around a publish; yields the trace headers to send with the message."""
    with tracer(provider).start_as_current_span(
        f"{subject} publish", kind=SpanKind.PRODUCER, attributes=dict(attributes)
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier


@contextmanager
def consumer_span(
    provider: TracerProvider | None,
    subject: str,
    headers: Mapping[str, str],
    attributes: Mapping[str, str | int],
) -> Iterator[Span]:
    """A CONSUMER span, child of the producer's span; none for a message without trace headers.

    An untraced message (a replay, a tool's publish, a load generator) would
    otherwise start a trace of its own per message, each exported: ~80 us of
    the consumer's CPU per message besides the trace backend's work
    (docs/benchmarks.md, "Latency (f)"), for traces nobody asked for.
    What the handler does then runs outside any span (its publishes start traces).
    """
    if "traceparent" not in headers:
        yield trace.INVALID_SPAN
        return
    parent = propagate.extract(dict(headers))
    with tracer(provider).start_as_current_span(
        f"{subject} process", context=parent, kind=SpanKind.CONSUMER, attributes=dict(attributes)
    ) as span:
        yield span


@contextmanager
def batch_spans(
    provider: TracerProvider | None,
    consumer: str,
    messages: Sequence[tuple[str, Mapping[str, str], Mapping[str, str | int]]],
) -> Iterator[None]:
    """One CONSUMER span per message of a batch, each continuing its message's trace.

    The batch is handled by one call, so no span can be the current one: each
    covers the whole call and records its outcome. Messages without trace
    headers get none (a batch of unrelated events would start a trace each).
    """
    spans: list[Span] = []
    # No tracer for a batch without traces: getting one costs about what acking it does.
    if traced := [message for message in messages if "traceparent" in message[1]]:
        bus_tracer = tracer(provider)
        spans = [
            bus_tracer.start_span(
                f"{subject} process",
                context=propagate.extract(dict(headers)),
                kind=SpanKind.CONSUMER,
                attributes={**attributes, "messaging.consumer.group.name": consumer},
            )
            for subject, headers, attributes in traced
        ]
    try:
        yield
    except BaseException as exc:
        for span in spans:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        for span in spans:
            span.end()
