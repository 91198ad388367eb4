"""Workers: replicas sharing a durable, restarts, several consumers, graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from nats.js import JetStreamContext

from mediaplane.bus import Bus, BusSettings, Delivery, EventHandler, Publisher
from mediaplane.bus.testing import RecordingHandler, eventually, settled
from mediaplane.contracts import FileDeleted, FileVerified, Registry

pytestmark = pytest.mark.integration

Verified = Callable[[int], FileVerified]
Deleted = Callable[[int], FileDeleted]


def slowly(recorder: RecordingHandler) -> EventHandler[FileVerified]:
    async def handle(event: FileVerified, delivery: Delivery) -> None:
        await asyncio.sleep(0.01)  # long enough for the other replica to fetch meanwhile
        await recorder(event, delivery)

    return handle


async def test_replicas_of_one_durable_split_the_work(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    replicas = [Bus(settings, registry, producer="thumbnailer") for _ in range(2)]
    recorders = [RecordingHandler() for _ in replicas]

    for bus, recorder in zip(replicas, recorders, strict=True):

        @bus.consumer("thumbs", events=[FileVerified])
        async def slow(
            event: FileVerified, delivery: Delivery, recorder: RecordingHandler = recorder
        ) -> None:
            await asyncio.sleep(0.01)  # long enough for the other replica to fetch meanwhile
            await recorder(event, delivery)

    events = [verified(n) for n in range(40)]
    async with replicas[0].running(), replicas[1].running():
        for event in events:
            await publisher.publish(event)
        await eventually(lambda: sum(len(r.seen) for r in recorders) >= len(events))
        # Every message acked: nothing more may arrive.
        await eventually(lambda: settled(js, settings, "thumbs"))

    first, second = (set(r.event_ids) for r in recorders)
    assert first, "replica 1 got nothing"
    assert second, "replica 2 got nothing"
    assert not first & second
    assert first | second == {event.event_id for event in events}
    assert sum(len(r.seen) for r in recorders) == len(events)


async def test_a_restarted_consumer_resumes_where_it_stopped(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    before = [verified(n) for n in range(5)]
    while_down = [verified(n) for n in range(5, 10)]

    first_run = RecordingHandler()
    bus = Bus(settings, registry, producer="thumbnailer")
    bus.consumer("thumbs", events=[FileVerified])(first_run)
    async with bus.running():
        for event in before:
            await publisher.publish(event)
        await eventually(lambda: len(first_run.seen) == len(before))

    for event in while_down:
        await publisher.publish(event)

    second_run = RecordingHandler()
    restarted = Bus(settings, registry, producer="thumbnailer")
    restarted.consumer("thumbs", events=[FileVerified])(second_run)
    async with restarted.running():
        await eventually(lambda: len(second_run.seen) == len(while_down))
        # Every message acked: none of them comes back.
        await eventually(lambda: settled(js, settings, "thumbs"))

    assert first_run.event_ids == [event.event_id for event in before]
    assert second_run.event_ids == [event.event_id for event in while_down]
    assert set(second_run.attempts) == {1}


async def test_one_worker_runs_several_consumers(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    verified: Verified,
    deleted: Deleted,
) -> None:
    bus = Bus(settings, registry, producer="janitor")
    on_verified, on_deleted, on_all = RecordingHandler(), RecordingHandler(), RecordingHandler()
    bus.consumer("janitor-verified", events=[FileVerified])(on_verified)
    bus.consumer("janitor-deleted", events=[FileDeleted])(on_deleted)
    bus.consumer("janitor-all")(on_all)
    ok, gone = verified(1), deleted(1)

    async with bus.running():
        await publisher.publish(ok)
        await publisher.publish(gone)
        await eventually(lambda: len(on_all.seen) == 2 and len(on_deleted.seen) == 1)
        await eventually(lambda: len(on_verified.seen) == 1)

    assert on_verified.event_ids == [ok.event_id]
    assert on_deleted.event_ids == [gone.event_id]
    assert on_all.event_ids == [ok.event_id, gone.event_id]


async def test_stopping_lets_the_in_flight_handler_finish(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer", graceful_timeout=5.0)
    started, finished = asyncio.Event(), asyncio.Event()

    @bus.consumer("thumbs", events=[FileVerified])
    async def slow(event: FileVerified, delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(0.5)
        finished.set()

    async with bus.running():
        await publisher.publish(verified(1))
        await asyncio.wait_for(started.wait(), 30)

    assert finished.is_set()
    info = await js.consumer_info(settings.stream, "thumbs")
    assert (info.num_pending, info.num_ack_pending, info.ack_floor.stream_seq) == (0, 0, 1)


async def test_a_handler_outlasting_the_graceful_timeout_is_handed_back(
    settings: BusSettings, registry: Registry, publisher: Publisher, verified: Verified
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer", graceful_timeout=0.3)
    started = asyncio.Event()

    @bus.consumer("thumbs", events=[FileVerified], ack_wait=3600.0)
    async def stuck(event: FileVerified, delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(60)

    async with bus.running():
        await publisher.publish(verified(1))
        await asyncio.wait_for(started.wait(), 30)

    # The NAK makes it available at once; without it, it would come back only after
    # ack_wait (an hour), far past the patience of `eventually`.
    successor = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    successor.consumer("thumbs", events=[FileVerified], ack_wait=3600.0)(recorder)
    async with successor.running():
        await eventually(lambda: len(recorder.seen) == 1)

    assert recorder.attempts == [2]


async def test_a_long_handler_is_kept_alive_past_ack_wait(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Verified,
) -> None:
    attempts: list[int] = []

    async def transcode(event: FileVerified, delivery: Delivery) -> None:
        attempts.append(delivery.delivery_count)
        await asyncio.sleep(1.5)  # several ack_waits long

    # An idle second replica would take the message if it were redelivered.
    replicas = [Bus(settings, registry, producer="transcoder") for _ in range(2)]
    for bus in replicas:
        bus.consumer("transcode", events=[FileVerified], ack_wait=0.4)(transcode)

    async with replicas[0].running(), replicas[1].running():
        await publisher.publish(verified(1))
        await eventually(lambda: len(attempts) == 1)
        # Acked once the handler returned (after 1.5 s, several ack_waits).
        await eventually(lambda: settled(js, settings, "transcode"))
        info = await js.consumer_info(settings.stream, "transcode")

    assert attempts == [1]
    assert (info.num_pending, info.num_ack_pending, info.num_redelivered) == (0, 0, 0)
