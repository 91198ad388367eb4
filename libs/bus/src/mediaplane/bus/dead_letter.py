"""Parking messages that cannot be processed in the dead-letter stream."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from mediaplane.bus.delivery import Delivery
from mediaplane.bus.headers import without_nats_headers
from mediaplane.bus.settings import BusSettings
from mediaplane.contracts import headers as h

# The original `Nats-Msg-Id` (the event id). The dead letter gets its own msg id:
# two consumers may dead-letter the same event, and both copies must be kept.
DLQ_ORIGINAL_MSG_ID = "Mp-Dlq-Original-Msg-Id"
MAX_REASON_LENGTH = 1000
_LINE_BREAKS = re.compile(r"[\r\n]+")


def dead_letter_subject(settings: BusSettings, consumer: str, subject: str) -> str:
    """`dlq.<consumer>.<original subject>`: one consumer's dead letters are one filter away."""
    return f"{settings.dlq_subject_root}.{consumer}.{subject}"


def header_safe(reason: str) -> str:
    """NATS header values are single lines; keep reasons short enough to read in a listing."""
    return _LINE_BREAKS.sub(" | ", reason)[:MAX_REASON_LENGTH]


def dead_letter_headers(delivery: Delivery, reason: str) -> dict[str, str]:
    headers = without_nats_headers(dict(delivery.headers))
    # Publishing the same dead letter twice (crash before TERM) is deduplicated.
    headers[h.MSG_ID] = f"{delivery.consumer}:{delivery.stream}:{delivery.stream_sequence}"
    if delivery.event_id is not None:
        headers[DLQ_ORIGINAL_MSG_ID] = delivery.event_id
    headers[h.DLQ_REASON] = header_safe(reason)
    headers[h.DLQ_CONSUMER] = delivery.consumer
    headers[h.DLQ_DELIVERIES] = str(delivery.delivery_count)
    headers[h.DLQ_ORIGINAL_SUBJECT] = delivery.subject
    headers[h.DLQ_ORIGINAL_SEQUENCE] = str(delivery.stream_sequence)
    return headers


async def dead_letter(
    js: JetStreamContext, settings: BusSettings, msg: Msg, delivery: Delivery, reason: str
) -> PubAck:
    """Copy `msg` to the DLQ stream with `reason` in its headers, then TERM the original.

    TERM comes only after the DLQ publish was acknowledged, so a failure in
    between leaves the message on the consumer (redelivered) rather than lost.
    """
    ack = await js.publish(
        dead_letter_subject(settings, delivery.consumer, delivery.subject),
        msg.data,
        stream=settings.dlq_stream,
        headers=dead_letter_headers(delivery, reason),
    )
    await msg.term()
    return ack


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """A message parked in the DLQ stream, with why and where it came from."""

    sequence: int
    subject: str
    data: bytes
    headers: Mapping[str, str]

    @property
    def reason(self) -> str:
        return self.headers.get(h.DLQ_REASON, "")

    @property
    def consumer(self) -> str:
        return self.headers.get(h.DLQ_CONSUMER, "")

    @property
    def deliveries(self) -> int:
        return int(self.headers.get(h.DLQ_DELIVERIES, "0"))

    @property
    def original_subject(self) -> str:
        return self.headers.get(h.DLQ_ORIGINAL_SUBJECT, "")

    @property
    def original_sequence(self) -> int:
        return int(self.headers.get(h.DLQ_ORIGINAL_SEQUENCE, "0"))


async def read_dead_letters(
    js: JetStreamContext, settings: BusSettings, *, limit: int = 1000
) -> list[DeadLetter]:
    """The oldest `limit` dead letters, for inspection (they stay in the stream)."""
    state = (await js.stream_info(settings.dlq_stream)).state
    letters: list[DeadLetter] = []
    if state.messages == 0:
        return letters
    for seq in range(state.first_seq, min(state.last_seq, state.first_seq + limit - 1) + 1):
        try:
            raw = await js.get_msg(settings.dlq_stream, seq)
        except NotFoundError:  # removed by an operator (gaps are normal)
            continue
        letters.append(
            DeadLetter(
                sequence=seq,
                subject=raw.subject or "",
                data=raw.data or b"",
                headers=dict(raw.headers or {}),
            )
        )
    return letters
