"""Operators send dead letters back once the cause is fixed; the consumer then handles them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from nats.js import JetStreamContext

from mediaplane.bus import Bus, BusSettings, Delivery, Publisher, read_dead_letters
from mediaplane.bus.redrive import discard, redrive
from mediaplane.bus.testing import eventually
from mediaplane.contracts import FileVerified, Registry

pytestmark = pytest.mark.integration


async def test_a_redriven_dead_letter_reaches_the_consumer_again(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Callable[[int], FileVerified],
) -> None:
    broken = True
    handled: list[uuid.UUID] = []
    bus = Bus(settings, registry, producer="thumbnailer")

    @bus.consumer("thumbs", events=[FileVerified], max_deliver=2, backoff=[0.05])
    async def handle(event: FileVerified, delivery: Delivery) -> None:
        if broken:
            raise RuntimeError("bug")
        handled.append(event.event_id)

    event = verified(1)
    async with bus.running():
        await publisher.publish(event)
        await eventually(lambda: _count(js, settings, 1))
        letters = await read_dead_letters(js, settings)

        broken = False  # the fix is deployed
        await redrive(js, settings, letters[0])
        await eventually(lambda: handled == [event.event_id])

    assert await read_dead_letters(js, settings) == []


async def test_discard_and_the_command_line(
    settings: BusSettings,
    registry: Registry,
    publisher: Publisher,
    js: JetStreamContext,
    verified: Callable[[int], FileVerified],
) -> None:
    bus = Bus(settings, registry, producer="thumbnailer")

    @bus.consumer("thumbs", events=[FileVerified], max_deliver=1, backoff=[0.05])
    async def handle(event: FileVerified, delivery: Delivery) -> None:
        raise RuntimeError("always")

    async with bus.running():
        for n in (1, 2):
            await publisher.publish(verified(n))
        await eventually(lambda: _count(js, settings, 2))

    env = {
        **os.environ,
        "MEDIAPLANE_NATS_URL": settings.url,
        "MEDIAPLANE_STREAM": settings.stream,
        "MEDIAPLANE_SUBJECT_ROOT": settings.subject_root,
        "MEDIAPLANE_DLQ_STREAM": settings.dlq_stream,
        "MEDIAPLANE_DLQ_SUBJECT_ROOT": settings.dlq_subject_root,
    }
    listed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mediaplane.bus", "dlq", "list"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.count('"consumer": "thumbs"') == 2
    assert "always" in listed.stdout

    first, second = await read_dead_letters(js, settings)
    await discard(js, settings, first)
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mediaplane.bus", "dlq", "redrive"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2  # neither sequences nor --all
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mediaplane.bus", "dlq", "discard", str(second.sequence)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"discarded {second.sequence}" in done.stdout
    assert await read_dead_letters(js, settings) == []


async def _count(js: JetStreamContext, settings: BusSettings, n: int) -> bool:
    return len(await read_dead_letters(js, settings)) == n
