"""Consumers get the newest version of an event, whichever version was published."""

from __future__ import annotations

import pytest
from nats.js import JetStreamContext

from mediaplane.bus import Bus, BusSettings, Delivery, Publisher, read_dead_letters
from mediaplane.bus.consumer import subscription_subjects
from mediaplane.bus.testing import RecordingHandler, eventually
from mediaplane.contracts import Event, EventContext, Registry, new_event, utc_now
from mediaplane.contracts.registry import Payload


class PingV1(Event, tag="ping.v1", frozen=True, kw_only=True):
    target: str


class PingV2(Event, tag="ping.v2", frozen=True, kw_only=True):
    host: str
    port: int


class Pong(Event, tag="pong.v1", frozen=True, kw_only=True):
    pass


def ping_registry(subject_root: str = "media") -> Registry:
    registry = Registry([PingV1, PingV2, Pong], subject_root=subject_root)

    @registry.upcaster("ping.v1", "ping.v2")
    def split_target(payload: Payload) -> Payload:
        host, port = payload.pop("target").split(":")
        return {**payload, "host": host, "port": int(port)}

    return registry


def test_a_consumer_of_the_newest_version_also_reads_older_subjects() -> None:
    assert subscription_subjects(ping_registry(), [PingV2]) == ("media.ping.v1", "media.ping.v2")
    assert subscription_subjects(ping_registry(), [Pong]) == ("media.pong.v1",)
    assert subscription_subjects(ping_registry(), []) == ("media.>",)


def test_consuming_a_version_that_is_upcast_away_is_refused() -> None:
    with pytest.raises(ValueError, match=r"ping\.v1 is upcast to ping\.v2"):
        subscription_subjects(ping_registry(), [PingV1])


def test_consuming_an_unregistered_event_is_refused() -> None:
    registry = Registry([Pong], subject_root="media")
    with pytest.raises(ValueError, match=r"unknown event type 'ping\.v2'"):
        subscription_subjects(registry, [PingV2])


@pytest.mark.integration
async def test_an_old_event_in_the_log_reaches_the_handler_upcast(
    settings: BusSettings, js: JetStreamContext
) -> None:
    registry = ping_registry(settings.subject_root)
    old = new_event(
        PingV1,
        occurred_at=utc_now(),
        stream_id="ping-1",
        context=EventContext(producer="old-service", correlation_id="c"),
        target="example.org:8080",
    )
    await Publisher(js, registry, stream=settings.stream).publish(old)

    bus = Bus(settings, registry, producer="new-service")
    got: list[PingV2] = []

    @bus.consumer("pings", events=[PingV2])
    async def on_ping(event: PingV2, delivery: Delivery) -> None:
        got.append(event)

    async with bus.running():
        await eventually(lambda: len(got) == 1)

    assert isinstance(got[0], PingV2)
    assert (got[0].event_id, got[0].host, got[0].port) == (old.event_id, "example.org", 8080)


@pytest.mark.integration
async def test_an_old_event_its_upcaster_cannot_handle_is_dead_lettered(
    settings: BusSettings, js: JetStreamContext
) -> None:
    registry = ping_registry(settings.subject_root)
    broken = new_event(
        PingV1,
        occurred_at=utc_now(),
        stream_id="ping-1",
        context=EventContext(producer="old-service", correlation_id="c"),
        target="no-port-here",
    )
    await Publisher(js, registry, stream=settings.stream).publish(broken)
    bus = Bus(settings, registry, producer="new-service")
    recorder = RecordingHandler()
    bus.consumer("pings", events=[PingV2])(recorder)

    async def dead_lettered() -> bool:
        return bool(await read_dead_letters(js, settings))

    async with bus.running():
        await eventually(dead_lettered)

    assert recorder.seen == []
    [letter] = await read_dead_letters(js, settings)
    assert letter.reason == (
        "upcast failed: ValueError: not enough values to unpack (expected 2, got 1)"
    )
