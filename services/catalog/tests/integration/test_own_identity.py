"""The ingest and replay as the catalog itself, on a NATS with the real permissions."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import psycopg
import pytest

from mediaplane.bus.testing import eventually
from mediaplane.catalog.config import CatalogSettings, IngestSettings
from mediaplane.catalog.ingest.consumer import run_ingest
from mediaplane.catalog.ingest.replay import replay
from mediaplane.catalog.testing import FileStory
from mediaplane.contracts import build_registry
from mediaplane.devstack.pytest_plugin import PrivateNats

pytestmark = pytest.mark.integration


def ledger_rows(settings: CatalogSettings) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM ledger").fetchone()
    assert row is not None
    return int(row[0])


async def test_the_catalog_ingests_and_replays_with_its_own_identity(
    settings: CatalogSettings, pool: Any, private_nats: PrivateNats
) -> None:
    registry = build_registry("media")  # the production names the permissions are for
    catalog = private_nats.bus_settings("catalog")
    story = FileStory(owner="alice", kind="image").opened().uploaded().verified()
    gateway = private_nats.bus_settings("gateway")
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_ingest(pool=pool, registry=registry, bus=catalog, settings=IngestSettings(), stop=stop)
    )
    nc = await nats.connect(gateway.url, **gateway.connect_options())
    try:
        js = nc.jetstream()

        async def streams_ready() -> bool:
            return (await js.account_info()).streams == 2  # provisioned by the ingest

        await eventually(streams_ready)
        for event in story.events:
            await js.publish(registry.subject_of(event), registry.encode(event), stream="MEDIA")
    finally:
        await nc.close()
    await eventually(lambda: ledger_rows(settings) == len(story.events))
    stop.set()
    await asyncio.wait_for(task, 30)

    # Replay reads the log again through a consumer of its own (the ledger dedups).
    report = await replay(
        pool=pool, registry=registry, bus=catalog, originals_bucket="originals", from_seq=1
    )
    assert (report.read, report.duplicates) == (len(story.events), len(story.events))
    assert catalog.user == "catalog"
    assert "Violation" not in private_nats.log()
