"""Operator actions on dead letters: send them back to their subject, or drop them."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import PubAck

from mediaplane.bus.dead_letter import DLQ_ORIGINAL_MSG_ID, DeadLetter
from mediaplane.bus.settings import BusSettings
from mediaplane.contracts import headers as h

_DLQ_HEADERS = {
    DLQ_ORIGINAL_MSG_ID,
    h.DLQ_REASON,
    h.DLQ_CONSUMER,
    h.DLQ_DELIVERIES,
    h.DLQ_ORIGINAL_SUBJECT,
    h.DLQ_ORIGINAL_SEQUENCE,
    h.MSG_ID,
}


async def redrive(js: JetStreamContext, settings: BusSettings, letter: DeadLetter) -> PubAck:
    """Publish the parked message again on its original subject, then remove it from the DLQ.

    Every consumer of that subject sees it again: handlers are idempotent (they
    check their own store for the event id), so only the one that failed acts.
    The message id names the redrive, so JetStream's duplicate window does not
    drop it as a copy of the original.
    """
    headers = {k: v for k, v in letter.headers.items() if k not in _DLQ_HEADERS}
    original_id = letter.headers.get(DLQ_ORIGINAL_MSG_ID, "")
    headers[h.MSG_ID] = f"{original_id}:redrive:{letter.sequence}"
    ack = await js.publish(
        letter.original_subject, letter.data, stream=settings.stream, headers=headers
    )
    await js.delete_msg(settings.dlq_stream, letter.sequence)
    return ack


async def discard(js: JetStreamContext, settings: BusSettings, letter: DeadLetter) -> None:
    await js.delete_msg(settings.dlq_stream, letter.sequence)
