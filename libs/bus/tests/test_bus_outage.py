"""A worker rides out a NATS restart (on a private server: the shared one stays up)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import nats
import pytest

from mediaplane.bus import Bus, BusSettings, Publisher, provision
from mediaplane.bus.testing import RecordingHandler, eventually
from mediaplane.contracts import FileVerified, Registry
from mediaplane.devstack.pytest_plugin import PrivateNats

pytestmark = pytest.mark.integration


async def test_a_consumer_resumes_after_nats_restarts(
    private_nats: PrivateNats,
    settings: BusSettings,
    registry: Registry,
    verified: Callable[[int], FileVerified],
) -> None:
    settings = msgspec.structs.replace(settings, url=private_nats.url)
    bus = Bus(settings, registry, producer="thumbnailer")
    recorder = RecordingHandler()
    bus.consumer("thumbs", events=[FileVerified])(recorder)
    before, after = verified(1), verified(2)

    async with bus.running():
        nc = await nats.connect(private_nats.url)
        await Publisher(nc.jetstream(), registry, stream=settings.stream).publish(before)
        await eventually(lambda: len(recorder.seen) == 1)
        await nc.close()

        private_nats.stop()
        private_nats.start()

        nc = await nats.connect(private_nats.url)
        js = nc.jetstream()
        await provision(js, settings)  # streams and the durable survived on disk
        await Publisher(js, registry, stream=settings.stream).publish(after)
        await eventually(lambda: len(recorder.seen) == 2)
        await nc.close()

    assert recorder.event_ids == [before.event_id, after.event_id]
