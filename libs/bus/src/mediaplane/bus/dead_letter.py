"""Parking messages that cannot be processed in the dead-letter stream."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import PubAck, RawStreamMsg
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
    parked_at: datetime | None = None  # when it reached the DLQ

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

    @property
    def original_msg_id(self) -> str | None:
        return self.headers.get(DLQ_ORIGINAL_MSG_ID)


@dataclass(frozen=True, kw_only=True)
class DeadLetterFilter:
    """Which dead letters a listing shows (every field optional; all must match).

    `consumer` is a prefix, so a service's name matches all its durables
    (`thumbnailer` -> `thumbnailer-file-verified`, ...); `subject` is an original
    subject, NATS wildcards allowed (`media.file.>`); `reason` a case-blind substring.
    """

    consumer: str | None = None
    subject: str | None = None
    reason: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.consumer and not letter.consumer.startswith(self.consumer):
            return False
        if self.subject and not subject_matches(self.subject, letter.original_subject):
            return False
        return not self.reason or self.reason.lower() in letter.reason.lower()


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or token not in ("*", tokens[i]):
            return False
    return len(tokens) == len(wanted)


def _letter(raw: RawStreamMsg, seq: int) -> DeadLetter:
    return DeadLetter(
        sequence=raw.seq or seq,
        subject=raw.subject or "",
        data=raw.data or b"",
        headers=dict(raw.headers or {}),
        parked_at=raw.time,
    )


async def get_dead_letter(
    js: JetStreamContext, settings: BusSettings, sequence: int
) -> DeadLetter | None:
    """The dead letter at `sequence`, or None (never parked, redriven or discarded)."""
    if sequence < 1:
        return None
    try:
        raw = await js.get_msg(settings.dlq_stream, sequence)
    except NotFoundError:
        return None
    return _letter(raw, sequence)


async def page_dead_letters(
    js: JetStreamContext,
    settings: BusSettings,
    *,
    where: DeadLetterFilter | None = None,
    after: int = 0,
    limit: int = 50,
    scan: int = 10_000,
) -> tuple[list[DeadLetter], int | None]:
    """Up to `limit` matching dead letters after DLQ sequence `after`, oldest first, and the
    sequence to continue after (None: the end). Each step asks the server for the next
    message at or past a sequence, so gaps cost nothing; at most `scan` are read per page,
    so a filter that matches little still answers promptly (with a cursor to go on).
    """
    where = where or DeadLetterFilter()
    letters: list[DeadLetter] = []
    position = after
    for _ in range(scan):
        try:
            raw = await js.get_msg(
                settings.dlq_stream, position + 1, subject=settings.dlq_subjects, next=True
            )
        except NotFoundError:
            return letters, None
        letter = _letter(raw, position + 1)
        position = letter.sequence
        if where.matches(letter):
            letters.append(letter)
            if len(letters) == limit:
                break
    return letters, position


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
        letters.append(_letter(raw, seq))
    return letters
