"""Provisioning streams and consumers: idempotent, and code changes reach the server."""

from __future__ import annotations

import msgspec
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, RetentionPolicy, StorageType
from nats.js.errors import NotFoundError

from mediaplane.bus import Bus, BusSettings, RetryPolicy, provision
from mediaplane.bus.testing import RecordingHandler
from mediaplane.contracts import FileDeleted, FileVerified, Registry

pytestmark = pytest.mark.integration


async def test_provision_creates_both_streams_and_is_idempotent(
    settings: BusSettings, nc: Client
) -> None:
    js = nc.jetstream()
    await provision(js, settings)
    await js.publish(f"{settings.subject_root}.file.verified.v1", b"{}", stream=settings.stream)
    await provision(js, settings)

    media = await js.stream_info(settings.stream)
    dlq = await js.stream_info(settings.dlq_stream)
    assert media.config.subjects == [f"{settings.subject_root}.>"]
    assert media.config.storage == StorageType.FILE
    assert media.config.retention == RetentionPolicy.LIMITS
    assert media.config.duplicate_window == 120.0
    assert media.config.max_age == 0
    assert media.state.messages == 1  # re-provisioning keeps the log
    assert dlq.config.subjects == [f"{settings.dlq_subject_root}.>"]
    assert dlq.config.storage == StorageType.FILE


async def test_provision_updates_an_existing_stream(settings: BusSettings, nc: Client) -> None:
    js = nc.jetstream()
    await provision(js, settings)
    await provision(js, msgspec.structs.replace(settings, duplicate_window=300.0, max_age=3600.0))

    media = await js.stream_info(settings.stream)
    assert media.config.duplicate_window == 300.0
    assert media.config.max_age == 3600.0


async def test_starting_a_bus_applies_the_consumer_config_of_the_code(
    settings: BusSettings, registry: Registry, nc: Client
) -> None:
    js = nc.jetstream()
    old = Bus(settings, registry, producer="thumbnailer")
    old.consumer("thumbs", events=[FileVerified], max_deliver=3, ack_wait=10.0)(RecordingHandler())
    async with old.running():
        before = await js.consumer_info(settings.stream, "thumbs")

    new = Bus(settings, registry, producer="thumbnailer")
    new.consumer("thumbs", events=[FileVerified, FileDeleted], max_deliver=7, ack_wait=20.0)(
        RecordingHandler()
    )
    async with new.running():
        after = await js.consumer_info(settings.stream, "thumbs")

    assert before.config.max_deliver == RetryPolicy(max_deliver=3).server_max_deliver
    assert before.config.ack_wait == 10.0
    assert before.config.ack_policy == AckPolicy.EXPLICIT
    assert before.config.filter_subject == f"{settings.subject_root}.file.verified.v1"
    assert after.config.max_deliver == RetryPolicy(max_deliver=7).server_max_deliver
    assert after.config.ack_wait == 20.0
    assert sorted(after.config.filter_subjects or []) == [
        f"{settings.subject_root}.file.deleted.v1",
        f"{settings.subject_root}.file.verified.v1",
    ]


async def test_a_bus_that_does_not_provision_needs_existing_streams(
    settings: BusSettings, registry: Registry
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer", provision_streams=False)
    bus.consumer("thumbs", events=[FileVerified])(RecordingHandler())

    with pytest.raises(NotFoundError, match="stream not found"):
        async with bus.running():
            pass
