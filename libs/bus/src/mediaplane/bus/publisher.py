"""Publishing events to the JetStream event stream."""

from __future__ import annotations

from collections.abc import Mapping

from nats.js import JetStreamContext
from nats.js.api import PubAck
from opentelemetry.trace import TracerProvider

from mediaplane.bus.headers import envelope_headers
from mediaplane.bus.tracing import producer_span
from mediaplane.contracts import Event, Registry


class Publisher:
    """Publishes events to `<subject_root>.<tag>` with the envelope headers and trace context.

    Publishing is acknowledged by JetStream (`PubAck`), and bound to `stream`
    (`Nats-Expected-Stream`), so an event never silently lands elsewhere.
    Republishing an event within the duplicate window is a no-op
    (`PubAck.duplicate` is True).
    """

    def __init__(
        self,
        js: JetStreamContext,
        registry: Registry,
        *,
        stream: str,
        tracer_provider: TracerProvider | None = None,
        timeout: float = 5.0,
    ) -> None:
        self._js = js
        self._registry = registry
        self._stream = stream
        self._tracer_provider = tracer_provider
        self._timeout = timeout

    async def publish(self, event: Event, *, headers: Mapping[str, str] | None = None) -> PubAck:
        """Publish `event`; extra `headers` win over the generated ones.

        An outbox relay that stored the request's `traceparent` with the event
        passes it in `headers` so consumers join the original trace.
        """
        subject = self._registry.subject_of(event)
        data = self._registry.encode(event)
        attributes = {
            "messaging.system": "nats",
            "messaging.destination.name": subject,
            "messaging.message.id": str(event.event_id),
            "mediaplane.event_type": event.tag(),
        }
        with producer_span(self._tracer_provider, subject, attributes) as trace_headers:
            return await self._js.publish(
                subject,
                data,
                timeout=self._timeout,
                stream=self._stream,
                headers={**trace_headers, **envelope_headers(event), **(headers or {})},
            )
