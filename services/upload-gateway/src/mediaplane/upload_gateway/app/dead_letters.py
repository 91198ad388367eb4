"""The admin dead-letter API's work: list, inspect, redrive and discard DLQ messages.

The bus work (read, republish, delete) runs as the `deadletters` NATS identity, which
may do that and nothing else (docs/adr/0007); each action is then recorded as a
`deadletter.*` event through the gateway's one write path, which is the audit trail.
An action comes first, its record second: should the record fail, the action stands
and the failure is logged with what the record would have said, then answered as a 500.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import msgspec
import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from mediaplane.bus import BusSettings
from mediaplane.bus.dead_letter import (
    DeadLetter,
    DeadLetterFilter,
    get_dead_letter,
    page_dead_letters,
)
from mediaplane.bus.redrive import discard, redrive, redrive_msg_id
from mediaplane.contracts import EventContext, utc_now
from mediaplane.contracts import headers as h
from mediaplane.domain import CommandContext, DomainError
from mediaplane.eventlog import EventStore, handle
from mediaplane.upload_gateway.domain.dead_letter import (
    DEAD_LETTER_DECIDER,
    DeadLetterCommand,
    Parked,
    RecordDiscard,
    RecordRedrive,
    dead_letter_stream,
)

_log = structlog.get_logger(__name__)
MAX_BATCH = 500  # dead letters one bulk redrive acts on


class DeadLetterNotFound(DomainError):
    code = "dead_letter_not_found"


class DeadLetterSummary(msgspec.Struct, frozen=True, kw_only=True):
    sequence: int  # in the DLQ stream: the dead letter's id
    consumer: str
    subject: str  # the original subject
    reason: str
    deliveries: int
    parked_at: datetime | None
    event_type: str | None
    event_id: str | None


class DeadLetterDetail(msgspec.Struct, frozen=True, kw_only=True):
    sequence: int
    consumer: str
    subject: str
    reason: str
    deliveries: int
    parked_at: datetime | None
    event_type: str | None
    event_id: str | None
    original_sequence: int
    headers: dict[str, str]
    size: int
    # The body as JSON when it is JSON, else as text (undecodable bytes replaced).
    payload: Any | None
    payload_text: str | None


class DeadLetterPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[DeadLetterSummary]
    next_after: int | None  # pass as `after` for the next page; None: the end


class Redriven(msgspec.Struct, frozen=True, kw_only=True):
    sequence: int
    msg_id: str
    stream_sequence: int  # where it landed in the event stream


class RedriveBatch(msgspec.Struct, frozen=True, kw_only=True):
    redriven: list[Redriven]
    next_after: int | None  # more matched than one batch: redrive again from here


def summary(letter: DeadLetter) -> DeadLetterSummary:
    return DeadLetterSummary(
        sequence=letter.sequence,
        consumer=letter.consumer,
        subject=letter.original_subject,
        reason=letter.reason,
        deliveries=letter.deliveries,
        parked_at=letter.parked_at,
        event_type=letter.headers.get(h.EVENT_TYPE),
        event_id=letter.original_msg_id,
    )


def detail(letter: DeadLetter) -> DeadLetterDetail:
    try:
        payload, text = json.loads(letter.data), None
    except ValueError:
        payload, text = None, letter.data.decode("utf-8", errors="replace")
    base = summary(letter)
    return DeadLetterDetail(
        **msgspec.structs.asdict(base),
        original_sequence=letter.original_sequence,
        headers=dict(letter.headers),
        size=len(letter.data),
        payload=payload,
        payload_text=text,
    )


def parked(letter: DeadLetter, dlq_stream: str) -> Parked:
    return Parked(
        dlq_stream=dlq_stream,
        dlq_sequence=letter.sequence,
        consumer=letter.consumer,
        original_subject=letter.original_subject,
        original_msg_id=letter.original_msg_id,
        reason=letter.reason,
    )


class DeadLetterAdmin:
    """One NATS connection as `deadletters`, opened on first use (the gateway API starts
    and serves uploads whether or not this identity is configured)."""

    def __init__(self, settings: BusSettings, store: EventStore) -> None:
        self._settings = settings
        self._store = store
        self._nc: Client | None = None
        self._lock = asyncio.Lock()

    async def _js(self) -> JetStreamContext:
        async with self._lock:
            if self._nc is None or self._nc.is_closed:
                self._nc = await nats.connect(
                    self._settings.servers, **self._settings.connect_options()
                )
            return self._nc.jetstream()

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    async def list(self, where: DeadLetterFilter, *, after: int, limit: int) -> DeadLetterPage:
        letters, position = await page_dead_letters(
            await self._js(), self._settings, where=where, after=after, limit=limit
        )
        return DeadLetterPage(items=[summary(x) for x in letters], next_after=position)

    async def _letter(self, sequence: int) -> DeadLetter:
        letter = await get_dead_letter(await self._js(), self._settings, sequence)
        if letter is None:
            raise DeadLetterNotFound(f"no dead letter {sequence} (redriven, discarded or never)")
        return letter

    async def show(self, sequence: int) -> DeadLetterDetail:
        return detail(await self._letter(sequence))

    async def redrive(self, sequence: int, *, admin: str, context: EventContext) -> Redriven:
        return await self._redrive(await self._letter(sequence), admin, context)

    async def redrive_matching(
        self, where: DeadLetterFilter, *, after: int, limit: int, admin: str, context: EventContext
    ) -> RedriveBatch:
        letters, position = await page_dead_letters(
            await self._js(), self._settings, where=where, after=after, limit=limit
        )
        done = [await self._redrive(letter, admin, context) for letter in letters]
        return RedriveBatch(redriven=done, next_after=position)

    async def discard(
        self, sequence: int, *, admin: str, note: str | None, context: EventContext
    ) -> None:
        letter = await self._letter(sequence)
        await discard(await self._js(), self._settings, letter)
        await self._record(
            RecordDiscard(
                letter=parked(letter, self._settings.dlq_stream),
                admin=admin,
                note=note,
                context=CommandContext(now=utc_now(), cause=context),
            )
        )

    async def _redrive(self, letter: DeadLetter, admin: str, context: EventContext) -> Redriven:
        ack = await redrive(await self._js(), self._settings, letter)
        done = Redriven(
            sequence=letter.sequence, msg_id=redrive_msg_id(letter), stream_sequence=ack.seq
        )
        await self._record(
            RecordRedrive(
                letter=parked(letter, self._settings.dlq_stream),
                admin=admin,
                redrive_msg_id=done.msg_id,
                stream_sequence=ack.seq,
                context=CommandContext(now=utc_now(), cause=context),
            )
        )
        return done

    async def _record(self, command: DeadLetterCommand) -> None:
        letter = command.letter
        try:
            await handle(
                self._store,
                dead_letter_stream(letter.dlq_stream, letter.dlq_sequence),
                DEAD_LETTER_DECIDER,
                command,
            )
        except Exception:
            _log.exception(
                "dead_letter.audit_failed",
                action=type(command).__name__,
                dlq_sequence=letter.dlq_sequence,
                consumer=letter.consumer,
                admin=command.admin,
            )
            raise
