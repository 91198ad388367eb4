"""The ingest consumer rides out a NATS restart (on a private server: the shared one stays up)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import nats
import psycopg
import pytest

from mediaplane.bus import provision
from mediaplane.bus.testing import eventually
from mediaplane.catalog.config import CatalogSettings, IngestSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import build_registry
from mediaplane.devstack.pytest_plugin import PrivateNats

pytestmark = pytest.mark.integration


async def test_ingest_resumes_after_nats_restarts(
    private_nats: PrivateNats, settings: CatalogSettings, pool: Any
) -> None:
    bus = msgspec.structs.replace(settings.bus, url=private_nats.url)
    registry = build_registry(bus.subject_root)
    before = FileStory(owner="alice").opened()
    after = FileStory(owner="bob").opened()

    async def publish_story(story: FileStory) -> None:
        nc = await nats.connect(private_nats.url)
        js = nc.jetstream()
        await provision(js, bus)  # streams and the durable survive a restart on disk
        for event in story.events:
            await js.publish(registry.subject_of(event), registry.encode(event))
        await nc.close()

    def sessions() -> int:
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM upload_sessions").fetchone()
        assert row is not None
        return int(row[0])

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_ingest(pool=pool, registry=registry, bus=bus, settings=IngestSettings(), stop=stop)
    )
    try:
        await publish_story(before)
        await eventually(lambda: sessions() == 1, within=15)
        private_nats.stop()
        await asyncio.sleep(1.5)  # a pull request or two go unanswered
        private_nats.start()
        await publish_story(after)
        await eventually(lambda: sessions() == 2, within=20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
