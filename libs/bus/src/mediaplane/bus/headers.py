"""The message headers an event travels with (names from `mediaplane.contracts.headers`)."""

from __future__ import annotations

from mediaplane.contracts import Event
from mediaplane.contracts import headers as h


def envelope_headers(event: Event) -> dict[str, str]:
    """Headers that let consumers route, dedupe and correlate without decoding the body.

    `Nats-Msg-Id` is the event id, so republishing the same event (an outbox
    relay retrying after a crash) is dropped by JetStream's duplicate window.
    """
    headers = {
        h.MSG_ID: str(event.event_id),
        h.EVENT_TYPE: event.tag(),
        h.STREAM_ID: event.stream_id,
        h.PRODUCER: event.producer,
        h.CORRELATION_ID: event.correlation_id,
    }
    if event.causation_id is not None:
        headers[h.CAUSATION_ID] = event.causation_id
    return headers


def without_nats_headers(headers: dict[str, str]) -> dict[str, str]:
    """Drop the `Nats-*` control headers (msg id, expected stream, ...) before re-publishing."""
    return {k: v for k, v in headers.items() if not k.lower().startswith("nats-")}
