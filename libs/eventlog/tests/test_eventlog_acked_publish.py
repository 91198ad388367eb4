"""The relay's acknowledged JetStream publisher against a real NATS server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import StorageType, StreamConfig

from mediaplane.devstack.pytest_plugin import NatsNamespace
from mediaplane.eventlog.acked_publish import AckedPublisher, PublishRefused

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(nats_namespace: NatsNamespace) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(nats_namespace.url)
    await nc.jetstream().add_stream(
        StreamConfig(
            name=f"{nats_namespace.stream_prefix}_ACKS",
            subjects=[f"{nats_namespace.subject_prefix}.acks.>"],
            storage=StorageType.FILE,
            duplicate_window=60.0,
        )
    )
    yield nc
    await nc.close()


@pytest.fixture
async def publisher(client: NatsClient) -> AsyncIterator[AckedPublisher]:
    publisher = AckedPublisher(client)
    await publisher.start()
    yield publisher
    await publisher.close()


async def test_each_publish_resolves_with_its_stream_sequence(
    publisher: AckedPublisher, nats_namespace: NatsNamespace
) -> None:
    subject = f"{nats_namespace.subject_prefix}.acks.a"
    futures = [
        await publisher.publish(subject, f"m{n}".encode(), {"Nats-Msg-Id": f"id-{n}"})
        for n in range(50)
    ]
    assert await asyncio.gather(*futures) == list(range(1, 51))
    assert publisher.pending() == 0


async def test_a_duplicate_is_acknowledged_with_the_original_sequence(
    publisher: AckedPublisher, client: NatsClient, nats_namespace: NatsNamespace
) -> None:
    subject = f"{nats_namespace.subject_prefix}.acks.a"
    first = await (await publisher.publish(subject, b"x", {"Nats-Msg-Id": "same"}))
    again = await (await publisher.publish(subject, b"x", {"Nats-Msg-Id": "same"}))
    assert first == again == 1
    info = await client.jetstream().stream_info(f"{nats_namespace.stream_prefix}_ACKS")
    assert info.state.messages == 1


async def test_refusals_fail_the_future(
    publisher: AckedPublisher, nats_namespace: NatsNamespace
) -> None:
    nobody = await publisher.publish(f"{nats_namespace.subject_prefix}.nobody", b"x", {})
    with pytest.raises(PublishRefused, match="no stream"):
        await nobody
    subject = f"{nats_namespace.subject_prefix}.acks.a"
    wrong = await publisher.publish(subject, b"x", {"Nats-Expected-Last-Sequence": "99"})
    with pytest.raises(PublishRefused, match="wrong last sequence"):
        await wrong
    assert publisher.pending() == 0


async def test_a_cancelled_publish_is_forgotten(
    publisher: AckedPublisher, nats_namespace: NatsNamespace
) -> None:
    future = await publisher.publish(f"{nats_namespace.subject_prefix}.acks.a", b"x", {})
    future.cancel()
    await asyncio.sleep(0)  # done callbacks run on the next loop iteration
    assert publisher.pending() == 0
    later = await publisher.publish(f"{nats_namespace.subject_prefix}.acks.a", b"y", {})
    assert await later == 2  # the first message was stored; its late ack was ignored


async def test_publishing_before_start_is_a_programming_error(client: NatsClient) -> None:
    with pytest.raises(RuntimeError, match="start"):
        await AckedPublisher(client).publish("x", b"", {})
