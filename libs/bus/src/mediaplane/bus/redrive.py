"""Operator actions on dead letters: send them back to their subject, or drop them."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import PubAck

from mediaplane.bus.dead_letter import DLQ_ORIGINAL_MSG_ID, DeadLetter
from mediaplane.bus.settings import BusSettings
from mediaplane.contracts import headers as h

_REDRIVE = ":redrive:"
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
    headers[h.MSG_ID] = redrive_msg_id(letter)
    ack = await js.publish(
        letter.original_subject, letter.data, stream=settings.stream, headers=headers
    )
    await js.delete_msg(settings.dlq_stream, letter.sequence)
    return ack


def redrive_msg_id(letter: DeadLetter) -> str:
    """`<event id>:redrive:<DLQ sequence>`: new to JetStream's duplicate window, yet the
    same on a retry of this redrive (deduplicated), and never longer after a second trip
    through the DLQ (the suffix of an earlier redrive is dropped first). Consumers
    deduplicate by the event id in the body, which a redrive never changes."""
    original_id = (letter.headers.get(DLQ_ORIGINAL_MSG_ID) or "").split(_REDRIVE)[0]
    return f"{original_id}{_REDRIVE}{letter.sequence}"


async def discard(js: JetStreamContext, settings: BusSettings, letter: DeadLetter) -> None:
    await js.delete_msg(settings.dlq_stream, letter.sequence)
