"""What travels with an event: envelope headers, dedup, correlation and trace context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import structlog
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mediaplane.bus import Bus, BusSettings, Delivery, Publisher
from mediaplane.bus.testing import eventually
from mediaplane.contracts import (
    EventContext,
    FileVerified,
    Registry,
    ThumbnailFailed,
    new_event,
    utc_now,
)
from mediaplane.contracts import headers as h

pytestmark = pytest.mark.integration

Verified = Callable[[int], FileVerified]


async def test_publish_sets_the_envelope_headers(
    settings: BusSettings, publisher: Publisher, js: JetStreamContext, verified: Verified
) -> None:
    event = verified(1)
    ack = await publisher.publish(event)

    stored = await js.get_msg(settings.stream, ack.seq)
    assert stored.subject == f"{settings.subject_root}.file.verified.v1"
    assert stored.headers is not None
    assert stored.headers[h.MSG_ID] == str(event.event_id)
    assert stored.headers[h.EVENT_TYPE] == "file.verified.v1"
    assert stored.headers[h.STREAM_ID] == "file-1"
    assert stored.headers[h.PRODUCER] == "test"
    assert stored.headers[h.CORRELATION_ID] == "corr-1"
    assert h.CAUSATION_ID not in stored.headers  # a first event has no cause


async def test_republishing_an_event_is_deduplicated(
    settings: BusSettings, publisher: Publisher, js: JetStreamContext, verified: Verified
) -> None:
    event = verified(1)
    first = await publisher.publish(event)
    again = await publisher.publish(event)

    assert again.duplicate
    assert again.seq == first.seq
    assert (await js.stream_info(settings.stream)).state.messages == 1


async def test_correlation_causation_and_trace_reach_the_handler(
    settings: BusSettings, registry: Registry, verified: Verified
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    bus = Bus(settings, registry, producer="thumbnailer", tracer_provider=provider)
    seen: list[tuple[Delivery, dict[str, Any], trace.SpanContext]] = []

    @bus.consumer("thumbs", events=[ThumbnailFailed])
    async def record(event: ThumbnailFailed, delivery: Delivery) -> None:
        span = trace.get_current_span().get_span_context()
        seen.append((delivery, structlog.contextvars.get_contextvars(), span))

    cause = verified(1)
    reaction = new_event(
        ThumbnailFailed,
        occurred_at=utc_now(),
        stream_id="thumb-1",
        context=EventContext(producer="thumbnailer", correlation_id="x").caused_by(cause),
        file_id=cause.file_id,
        code="decode_error",
        detail="truncated",
    )
    async with bus.running():
        with provider.get_tracer("test").start_as_current_span("POST /uploads") as request:
            await bus.publish(reaction)
        await eventually(lambda: len(seen) == 1)

    delivery, log_context, consumer_span_context = seen[0]
    assert delivery.correlation_id == cause.correlation_id == "corr-1"
    assert delivery.causation_id == str(cause.event_id)
    assert log_context["correlation_id"] == "corr-1"
    assert log_context["causation_id"] == str(cause.event_id)
    assert log_context["event_type"] == "thumbnail.failed.v1"
    assert log_context["event_id"] == str(reaction.event_id)
    assert log_context["consumer"] == "thumbs"

    by_kind = {span.kind: span for span in spans.get_finished_spans()}
    producer, consumer = by_kind[SpanKind.PRODUCER], by_kind[SpanKind.CONSUMER]
    trace_id = request.get_span_context().trace_id
    assert producer.context is not None
    assert producer.context.trace_id == consumer_span_context.trace_id == trace_id
    assert consumer.parent is not None
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.name == f"{settings.subject_root}.thumbnail.failed.v1 process"
    assert consumer.attributes is not None
    assert consumer.attributes["messaging.consumer.group.name"] == "thumbs"


async def test_a_failing_handler_marks_its_span_as_an_error(
    settings: BusSettings, registry: Registry, publisher: Publisher, verified: Verified
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    bus = Bus(settings, registry, producer="thumbnailer", tracer_provider=provider)
    attempts: list[int] = []

    @bus.consumer("thumbs", events=[FileVerified], backoff=[0.05])
    async def flaky(event: FileVerified, delivery: Delivery) -> None:
        attempts.append(delivery.delivery_count)
        if delivery.delivery_count == 1:
            raise ValueError("no decoder for this file")

    async with bus.running():
        with provider.get_tracer("test").start_as_current_span("POST /uploads"):
            await publisher.publish(verified(1))
        await eventually(lambda: len(attempts) == 2)
        # The second span ends after the handler returns.
        await eventually(lambda: len(spans.get_finished_spans()) == 3)

    _request, failed, succeeded = spans.get_finished_spans()  # in the order they ended
    assert (failed.attributes or {})["messaging.nats.delivery_count"] == 1
    assert not failed.status.is_ok
    assert failed.events[0].name == "exception"
    assert succeeded.status.is_unset


async def test_a_message_without_trace_context_starts_no_trace(
    settings: BusSettings, registry: Registry, publisher: Publisher, verified: Verified
) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    bus = Bus(settings, registry, producer="thumbnailer", tracer_provider=provider)
    handled: list[bool] = []

    @bus.consumer("thumbs", events=[FileVerified])
    async def record(event: FileVerified, delivery: Delivery) -> None:
        handled.append(trace.get_current_span().get_span_context().is_valid)

    async with bus.running():
        await publisher.publish(verified(1))  # no current span: no trace headers
        await eventually(lambda: len(handled) == 1)

    assert handled == [False]
    assert spans.get_finished_spans() == ()
