"""How an event maps to an event_log row (`data` + `metadata`) and back.

`data` holds the event's own fields; the envelope goes to columns
(`event_id`, `stream_id`, `type`) and to `metadata` (`occurred_at`,
`producer`, `correlation_id`, `causation_id`), next to optional extra keys
such as W3C trace context (`traceparent`, `tracestate`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from opentelemetry import propagate, trace
from psycopg.types.json import Jsonb

from mediaplane.contracts import Event, Registry

COLUMN_FIELDS = frozenset({"type", "event_id", "stream_id"})
METADATA_FIELDS = ("occurred_at", "producer", "correlation_id", "causation_id")
TRACE_KEYS = ("traceparent", "tracestate")

Payload = dict[str, Any]


def jsonb(value: object) -> Jsonb:
    """A jsonb parameter encoded by msgspec (faster than psycopg's default, stdlib json)."""
    return Jsonb(value, dumps=msgspec.json.encode)


def loads(data: str | bytes) -> Any:
    """jsonb loader for cursors reading event rows (msgspec, like `jsonb`)."""
    return msgspec.json.decode(data)


def with_trace_context(metadata: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """`metadata` plus the W3C trace context of the current span, if any and none was given.

    Stored with each event, it becomes the NATS headers the relay publishes,
    so a trace continues from the request that appended an event to the
    consumers of it. Without a valid current span (tracing off) nothing is added.
    """
    if metadata is not None and "traceparent" in metadata:
        return metadata
    if not trace.get_current_span().get_span_context().is_valid:
        return metadata
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    found = {key: carrier[key] for key in TRACE_KEYS if carrier.get(key)}
    return {**(metadata or {}), **found} if found else metadata


def split_event(
    registry: Registry, event: Event, extra_metadata: Mapping[str, str] | None = None
) -> tuple[Payload, Payload]:
    """(data, metadata) of `event`'s row."""
    fields = registry.to_builtins(event)
    data = {
        key: value
        for key, value in fields.items()
        if key not in COLUMN_FIELDS and key not in METADATA_FIELDS
    }
    metadata: Payload = dict(extra_metadata or {})
    metadata.update((key, fields[key]) for key in METADATA_FIELDS if fields.get(key) is not None)
    return data, metadata


def event_payload(
    *, type_: str, event_id: uuid.UUID, stream_id: str, data: Payload, metadata: Payload
) -> Payload:
    """The event as it was appended (its original version), as JSON-ready builtins."""
    payload: Payload = {**data, "type": type_, "event_id": str(event_id), "stream_id": stream_id}
    payload.update((key, metadata[key]) for key in METADATA_FIELDS if key in metadata)
    return payload


def decode_event(
    registry: Registry,
    *,
    type_: str,
    event_id: uuid.UUID,
    stream_id: str,
    data: Payload,
    metadata: Payload,
) -> Event:
    """The stored event, upcast to the newest version `registry` knows."""
    return registry.from_builtins(
        event_payload(
            type_=type_, event_id=event_id, stream_id=stream_id, data=data, metadata=metadata
        )
    )
