"""Consumer semantics against a real JetStream: ack, retry, dead letter, skip."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import pytest
from nats.js import JetStreamContext

from mediaplane.bus import (
    DLQ_ORIGINAL_MSG_ID,
    Bus,
    BusSettings,
    Defer,
    Delivery,
    PoisonEvent,
    Publisher,
    ensure_consumer,
    read_dead_letters,
)
from mediaplane.bus.testing import RecordingHandler, eventually, settled
from mediaplane.contracts import FileDeleted, FileVerified, Registry
from mediaplane.contracts import headers as h

pytestmark = pytest.mark.integration

QUICK = [0.05]  # seconds between attempts, to keep the suite fast

Verified = Callable[[int], FileVerified]
Deleted = Callable[[int], FileDeleted]


async def test_handler_gets_the_typed_event_and_its_delivery(
    settings: BusSettings, registry: Registry, publisher: Publisher, verified: Verified
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    bus.consumer("thumbs", events=[FileVerified], backoff=QUICK)(recorder)
    event = verified(1)

    async with bus.running():
        ack = await publisher.publish(event)
        await eventually(lambda: len(recorder.seen) == 1)

    got, delivery = recorder.seen[0]
    assert isinstance(got, FileVerified)
    assert got == event
    assert delivery.subject == f"{settings.subject_root}.file.verified.v1"
    assert delivery.stream_sequence == ack.seq
    assert delivery.delivery_count == 1
    assert delivery.consumer == "thumbs"
    assert delivery.event_id == str(event.event_id)
    assert delivery.event_type == "file.verified.v1"


async def test_handler_error_is_retried_then_acked(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler(fail_attempts={1, 2})
    bus.consumer("thumbs", events=[FileVerified], max_deliver=5, backoff=QUICK)(recorder)
    event = verified(1)

    async with bus.running():
        await publisher.publish(event)
        await eventually(lambda: len(recorder.seen) == 3)
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert recorder.attempts == [1, 2, 3]
    assert recorder.event_ids == [event.event_id] * 3
    assert await read_dead_letters(js, settings) == []


async def test_retry_delays_follow_the_backoff(
    settings: BusSettings, registry: Registry, publisher: Publisher, verified: Verified
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    arrivals: list[float] = []
    loop = asyncio.get_running_loop()

    @bus.consumer("thumbs", events=[FileVerified], max_deliver=3, backoff=[0.3, 0.6])
    async def flaky(event: FileVerified, delivery: Delivery) -> None:
        arrivals.append(loop.time())
        if delivery.delivery_count < 3:
            raise RuntimeError("not yet")

    async with bus.running():
        await publisher.publish(verified(1))
        await eventually(lambda: len(arrivals) == 3)

    # Lower bounds only: a loaded machine may add any delay, but no redelivery may come
    # before its backoff step. An ignored NAK delay would redeliver at once (gap ~0), and
    # one left to ack_wait (30 s) would not arrive within `eventually`'s patience.
    first_gap, second_gap = (later - earlier for earlier, later in itertools.pairwise(arrivals))
    assert first_gap >= 0.3
    assert second_gap >= 0.6


async def test_dead_letters_after_max_deliver_and_never_redelivers(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler(always_fail=True)
    bus.consumer("thumbs", events=[FileVerified], max_deliver=3, backoff=QUICK)(recorder)
    event = verified(7)

    async with bus.running():
        ack = await publisher.publish(event)
        await eventually(lambda: len(recorder.seen) == 3)
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert recorder.attempts == [1, 2, 3]
    assert [d.is_last_attempt for _, d in recorder.seen] == [False, False, True]
    [letter] = await read_dead_letters(js, settings)
    subject = f"{settings.subject_root}.file.verified.v1"
    assert letter.subject == f"{settings.dlq_subject_root}.thumbs.{subject}"
    assert letter.data == registry.encode(event)
    assert letter.reason == "handler failed on delivery 3/3: RuntimeError: boom on attempt 3"
    assert letter.consumer == "thumbs"
    assert letter.deliveries == 3
    assert letter.original_subject == subject
    assert letter.original_sequence == ack.seq
    assert letter.headers[DLQ_ORIGINAL_MSG_ID] == str(event.event_id)
    assert letter.headers[h.CORRELATION_ID] == event.correlation_id
    assert letter.headers[h.EVENT_TYPE] == "file.verified.v1"


async def test_a_deferred_message_comes_back_after_its_delay_without_failing(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    # One failed attempt allowed: deferring is not failing, so two deferrals and a
    # success leave nothing in the DLQ.
    bus = Bus(settings, registry, producer="transcoder")
    arrivals: list[float] = []

    @bus.consumer("later", events=[FileVerified], max_deliver=1, max_deferrals=2, backoff=QUICK)
    async def handler(event: FileVerified, delivery: Delivery) -> None:
        arrivals.append(asyncio.get_running_loop().time())
        if delivery.delivery_count <= 2:
            raise Defer(0.3, "no slot free")

    async with bus.running():
        await publisher.publish(verified(1))
        await eventually(lambda: len(arrivals) == 3)
        await eventually(lambda: settled(js, settings, "later"))

    assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(arrivals))
    assert await read_dead_letters(js, settings) == []


async def test_a_message_deferred_past_its_deliveries_is_dead_lettered(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="transcoder")
    deliveries: list[int] = []

    @bus.consumer("later", events=[FileVerified], max_deliver=1, max_deferrals=1, backoff=QUICK)
    async def handler(event: FileVerified, delivery: Delivery) -> None:
        deliveries.append(delivery.delivery_count)
        raise Defer(0.05, "no slot free")

    async with bus.running():
        await publisher.publish(verified(1))
        await eventually(lambda: len(deliveries) == 2)
        await eventually(lambda: settled(js, settings, "later"))

    assert deliveries == [1, 2]
    [letter] = await read_dead_letters(js, settings)
    assert letter.reason == "still deferred on delivery 2: no slot free"


async def test_poison_json_goes_to_the_dlq_at_once(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    bus.consumer("thumbs", events=[FileVerified], max_deliver=5, backoff=QUICK)(recorder)
    good = verified(2)

    async with bus.running():
        await js.publish(
            f"{settings.subject_root}.file.verified.v1", b"{not json", stream=settings.stream
        )
        await publisher.publish(good)
        await eventually(lambda: len(recorder.seen) == 1)
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert recorder.event_ids == [good.event_id]
    [letter] = await read_dead_letters(js, settings)
    assert letter.data == b"{not json"
    assert letter.reason.startswith("undecodable: JSON is malformed")
    assert letter.deliveries == 1


async def test_a_handler_raising_poison_dead_letters_at_once_with_its_reason(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    attempts: list[int] = []

    async def refuse(event: FileVerified, delivery: Delivery) -> None:
        attempts.append(delivery.delivery_count)
        raise PoisonEvent("object key of another owner")

    bus.consumer("thumbs", events=[FileVerified], max_deliver=5, backoff=QUICK)(refuse)
    event = verified(3)

    async with bus.running():
        await publisher.publish(event)
        await eventually(lambda: len(attempts) == 1)
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert attempts == [1]
    [letter] = await read_dead_letters(js, settings)
    assert letter.reason == "poison: object key of another owner"
    assert letter.deliveries == 1
    assert letter.data == registry.encode(event)


async def test_known_type_with_invalid_fields_is_poison(
    settings: BusSettings, registry: Registry, js: JetStreamContext
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    bus.consumer("thumbs", events=[FileVerified], backoff=QUICK)(recorder)
    invalid = b'{"type": "file.verified.v1", "size": -1}'

    async with bus.running():
        await js.publish(
            f"{settings.subject_root}.file.verified.v1", invalid, stream=settings.stream
        )
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert recorder.seen == []
    [letter] = await read_dead_letters(js, settings)
    assert letter.reason == "undecodable: Expected `int` >= 0 - at `$.size`"
    assert letter.deliveries == 1


async def test_unknown_event_type_is_skipped_and_later_events_still_flow(
    settings: BusSettings,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
    deleted: Deleted,
) -> None:
    # This service was built before file.deleted.v1 existed.
    old_registry = Registry([FileVerified], subject_root=settings.subject_root)
    bus = Bus(settings, old_registry, producer="catalog")
    recorder = RecordingHandler()
    bus.consumer("catalog-all", backoff=QUICK)(recorder)
    first, second = verified(1), verified(2)

    async with bus.running():
        await publisher.publish(first)
        await publisher.publish(deleted(1))
        await publisher.publish(second)
        await eventually(lambda: len(recorder.seen) == 2)
        await eventually(lambda: settled(js, settings, "catalog-all"))

    assert recorder.event_ids == [first.event_id, second.event_id]
    assert await read_dead_letters(js, settings) == []


async def test_unknown_event_type_goes_to_the_raw_handler_when_given(
    settings: BusSettings, publisher: Publisher, js: JetStreamContext, deleted: Deleted
) -> None:
    old_registry = Registry([FileVerified], subject_root=settings.subject_root)
    bus = Bus(settings, old_registry, producer="catalog")
    raw: list[tuple[bytes, Delivery]] = []

    async def store_raw(data: bytes, delivery: Delivery) -> None:
        raw.append((data, delivery))
        if delivery.delivery_count == 1:
            raise RuntimeError("ledger busy")  # raw handlers are retried like any other

    recorder = RecordingHandler()
    bus.consumer("catalog-all", on_unknown=store_raw, backoff=QUICK)(recorder)
    gone = deleted(3)

    async with bus.running():
        await publisher.publish(gone)
        await eventually(lambda: len(raw) == 2)
        await eventually(lambda: settled(js, settings, "catalog-all"))

    assert recorder.seen == []
    data, delivery = raw[1]
    assert Registry([FileDeleted], subject_root=settings.subject_root).decode(data) == gone
    assert delivery.event_type == "file.deleted.v1"
    assert delivery.delivery_count == 2


async def test_consumer_reads_only_its_event_types(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
    deleted: Deleted,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    bus.consumer("thumbs", events=[FileVerified], backoff=QUICK)(recorder)
    wanted = verified(1)

    async with bus.running():
        await publisher.publish(deleted(1))
        await publisher.publish(wanted)
        await eventually(lambda: len(recorder.seen) == 1)
        info = await js.consumer_info(settings.stream, "thumbs")

    assert recorder.event_ids == [wanted.event_id]
    assert info.config.filter_subject == f"{settings.subject_root}.file.verified.v1"
    assert info.delivered.consumer_seq == 1  # the server never sent file.deleted.v1


async def test_last_attempt_that_never_answered_is_dead_lettered(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    bus.consumer("thumbs", events=[FileVerified], max_deliver=1, ack_wait=0.5)(recorder)
    await ensure_consumer(js, settings.stream, bus.consumers["thumbs"].config())
    await publisher.publish(verified(1))
    # A worker takes the only allowed attempt and dies without answering.
    dying_worker = await js.pull_subscribe_bind("thumbs", stream=settings.stream)
    [taken] = await dying_worker.fetch(1, timeout=30)
    assert taken.metadata.num_delivered == 1
    await dying_worker.unsubscribe()

    async with bus.running():
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert recorder.seen == []
    [letter] = await read_dead_letters(js, settings)
    assert letter.reason == "no answer to delivery 1 (worker died or ran past ack_wait=0.5s)"
    assert letter.deliveries == 2
